// Boots a qemu guest with a profile's topology, runs one timeslice command inside, returns its
// /out directory (docs/ARCHITECTURE.md "Guests").
//
//   1. Accelerator: `auto` probes KVM with a tiny guest (GuestInitramfs.probe) that must print
//      its marker within `probeSeconds`; KVM guests that stall in firmware, refuse `-cpu host`
//      or lack /dev/kvm fall back to TCG (`-cpu max`), and the reason is recorded.
//   2. The initramfs (GuestInitramfs) holds the static timeslice, busybox and the files.
//   3. qemu runs through ChildProcess (own process group, PDEATHSIG, SIGKILL at the deadline),
//      with -no-reboot so that the guest's `poweroff -f` or a panic ends it. Console on ttyS0
//      into console.log (kept for diagnosis), results on ttyS1 (base64 of a tar of /out).
//   4. A watcher thread timestamps the init's first console line: the boot time.
#if canImport(Glibc)
import Glibc
#endif
import Foundation
import TimesliceHost

public enum GuestAcceleratorChoice: String, CaseIterable, Sendable {
    case auto, kvm, tcg
}

/// What came back from one guest.
public struct GuestBootResult: Sendable {
    public var record: GuestRecord
    /// The command's exit status inside the guest; nil when the init never reported it.
    public var commandStatus: Int32?
    /// Everything the guest printed on its console (kernel messages, the command's stderr).
    public var console: String
    /// The guest's /out, extracted on the host (inside `workDirectory`).
    public var outDirectory: String
    public var workDirectory: String
    public var timedOut: Bool
    public var wallSeconds: Double
}

public enum GuestMachine {
    /// A KVM guest must print its marker this fast, else TCG is used.
    public static let probeSeconds: UInt64 = 10
    static let baseKernelArguments = ["console=ttyS0", "panic=-1", "rdinit=/init"]

    /// Boots `profile`, runs `/bin/timeslice <command>` with `files` (guest path, host path)
    /// and returns what it left in /out. `progress` gets one line per step.
    public static func boot(profile: GuestProfile, accelerator choice: GuestAcceleratorChoice, timeslice: String,
                            files: [(guest: String, host: String)], command: [String], deadlineNanoseconds: UInt64,
                            progress: (String) -> Void) throws -> GuestBootResult {
        let qemu = try locateQEMU()
        let kernel = try kernelImage()
        let work = try makeWorkDirectory()
        do {
            return try boot(in: work, qemu: qemu, kernel: kernel, profile: profile, accelerator: choice, timeslice: timeslice,
                            files: files, command: command, deadlineNanoseconds: deadlineNanoseconds, progress: progress)
        } catch {
            // The caller removes the work directory of a guest that came back; this one did not.
            try? FileManager.default.removeItem(atPath: work)
            throw error
        }
    }

    private static func boot(in work: String, qemu: String, kernel: String, profile: GuestProfile,
                             accelerator choice: GuestAcceleratorChoice, timeslice: String,
                             files: [(guest: String, host: String)], command: [String], deadlineNanoseconds: UInt64,
                             progress: (String) -> Void) throws -> GuestBootResult {
        let (accelerator, reason) = try chooseAccelerator(choice, qemu: qemu, kernel: kernel, work: work)
        progress("guest \(profile.name): \(accelerator.rawValue) (\(reason)), kernel \(kernel)")
        let initrd = "\(work)/initramfs.cpio", console = "\(work)/console.log", transfer = "\(work)/transfer.b64"
        let arguments = qemuArguments(profile: profile, accelerator: accelerator, kernel: kernel, initrd: initrd,
                                      console: console, transfer: transfer)
        var record = GuestRecord(profile: profile, accelerator: accelerator, acceleratorReason: reason,
                                 kernelImage: kernel, qemu: [qemu] + arguments)
        try GuestInitramfs.build(timeslice: timeslice, files: files, record: record, command: command)
            .write(to: URL(fileURLWithPath: initrd))
        let watcher = ConsoleMarkerWatcher(file: console, marker: GuestInitramfs.markerUp)
        let run = try ChildProcess.run(executable: qemu, arguments: arguments, deadlineNanoseconds: deadlineNanoseconds,
                                       onStart: { _ in watcher.start() })
        let bootNanoseconds = watcher.stop()
        record.bootSeconds = bootNanoseconds.map { Double($0) / 1e9 }
        let consoleText = String(decoding: FileManager.default.contents(atPath: console) ?? Data(), as: UTF8.self)
            + String(decoding: run.stderr, as: UTF8.self)
        let out = "\(work)/out"
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        if run.interrupted { throw GuestError("interrupted; the guest was killed") }
        try extract(transfer: transfer, into: out, work: work)
        return GuestBootResult(record: record, commandStatus: exitStatus(in: consoleText), console: consoleText,
                               outDirectory: out, workDirectory: work, timedOut: run.timedOut,
                               wallSeconds: Double(run.elapsedNanoseconds) / 1e9)
    }

    /// qemu's command line for `profile`: vCPUs, memory split across the NUMA nodes with
    /// their CPUs and distances, the kernel command line, the two serial ports.
    static func qemuArguments(profile: GuestProfile, accelerator: GuestRecord.Accelerator, kernel: String,
                              initrd: String, console: String, transfer: String) -> [String] {
        var args = ["-accel", accelerator.rawValue, "-cpu", accelerator == .kvm ? "host" : "max",
                    "-smp", String(profile.cpus), "-m", "\(profile.memoryMB)M"]
        if let numa = profile.numa {
            let share = profile.memoryMB / numa.nodes.count
            for (id, cpus) in numa.nodes.enumerated() {
                // The last node takes the remainder so that the backends add up to -m.
                let size = id == numa.nodes.count - 1 ? profile.memoryMB - share * (numa.nodes.count - 1) : share
                args += ["-object", "memory-backend-ram,id=m\(id),size=\(size)M",
                         "-numa", "node,nodeid=\(id)," + cpus.map { "cpus=\($0)" }.joined(separator: ",") + ",memdev=m\(id)"]
            }
            for i in numa.nodes.indices { for j in numa.nodes.indices where i < j {
                args += ["-numa", "dist,src=\(i),dst=\(j),val=\(numa.distances[i][j])"]
            } }
        }
        args += ["-kernel", kernel, "-initrd", initrd,
                 "-append", (baseKernelArguments + profile.kernelArgs).joined(separator: " "),
                 "-nodefaults", "-display", "none", "-no-reboot", "-monitor", "none",
                 "-serial", "file:\(console)", "-serial", "file:\(transfer)"]
        return args
    }

    /// KVM when asked for or when `auto`'s probe boots; TCG otherwise. Returns the reason.
    static func chooseAccelerator(_ choice: GuestAcceleratorChoice, qemu: String, kernel: String,
                                  work: String) throws -> (GuestRecord.Accelerator, String) {
        switch choice {
        case .tcg: return (.tcg, "--accel tcg")
        case .kvm: return (.kvm, "--accel kvm")
        case .auto:
            guard access("/dev/kvm", R_OK | W_OK) == 0 else { return (.tcg, "/dev/kvm is not usable: \(String(cString: strerror(errno)))") }
            let probe = try probeKVM(qemu: qemu, kernel: kernel, work: work)
            return probe.booted ? (.kvm, probe.reason) : (.tcg, probe.reason)
        }
    }

    /// A one-vCPU KVM guest that must print its marker within `probeSeconds`.
    static func probeKVM(qemu: String, kernel: String, work: String) throws -> (booted: Bool, reason: String) {
        let initrd = "\(work)/probe.cpio", console = "\(work)/probe-console.log"
        try GuestInitramfs.probe().write(to: URL(fileURLWithPath: initrd))
        let args = ["-accel", "kvm", "-cpu", "host", "-smp", "1", "-m", "256M", "-kernel", kernel, "-initrd", initrd,
                    "-append", (baseKernelArguments + ["quiet"]).joined(separator: " "),
                    "-nodefaults", "-display", "none", "-no-reboot", "-monitor", "none", "-serial", "file:\(console)"]
        let r = try ChildProcess.run(executable: qemu, arguments: args, deadlineNanoseconds: probeSeconds * 1_000_000_000)
        let text = String(decoding: FileManager.default.contents(atPath: console) ?? Data(), as: UTF8.self)
        let seconds = String(format: "%.1f s", Double(r.elapsedNanoseconds) / 1e9)
        if text.contains(GuestInitramfs.markerUp) { return (true, "KVM probe guest booted in \(seconds)") }
        let why = r.timedOut ? "printed nothing from its init within \(probeSeconds) s"
            : "qemu ended after \(seconds) before the init ran: " + (String(decoding: r.stderr, as: UTF8.self)
                .split(separator: "\n").first.map(String.init) ?? "no message")
        return (false, "KVM probe guest \(why); using TCG")
    }

    static func exitStatus(in console: String) -> Int32? {
        // Split on every newline: the serial console ends lines with "\r\n", one Character.
        guard let line = console.split(whereSeparator: \.isNewline).last(where: { $0.contains(GuestInitramfs.markerExit + " rc=") }),
              let value = line.components(separatedBy: "rc=").last?.trimmingCharacters(in: .whitespacesAndNewlines) else { return nil }
        return Int32(value)
    }

    /// The base64 tar stream from ttyS1 into `directory` (the host's tar extracts it).
    static func extract(transfer: String, into directory: String, work: String) throws {
        guard let text = FileManager.default.contents(atPath: transfer), !text.isEmpty else { return }
        guard let tar = Data(base64Encoded: text, options: .ignoreUnknownCharacters) else {
            throw GuestError("the guest's results stream (\(transfer)) is not valid base64; see the console log")
        }
        let archive = "\(work)/out.tar"
        try tar.write(to: URL(fileURLWithPath: archive))
        guard let tarTool = Variants.locate("tar") else { throw GuestError("tar is not installed (apt-get install tar)") }
        let r = try ChildProcess.run(executable: tarTool, arguments: ["-xf", archive, "-C", directory],
                                     deadlineNanoseconds: 120_000_000_000)
        guard r.termination == .exited(0) else {
            throw GuestError("cannot unpack the guest's results: \(String(decoding: r.stderr, as: UTF8.self))")
        }
    }

    static func locateQEMU() throws -> String {
        guard let q = Variants.locate("qemu-system-x86_64") else {
            throw GuestError("qemu-system-x86_64 is not installed; install it with `apt-get install qemu-system-x86 busybox-static linux-image-amd64` (scripts/install-deps.sh --guest)")
        }
        guard FileManager.default.isExecutableFile(atPath: GuestInitramfs.busyboxPath) else {
            throw GuestError("\(GuestInitramfs.busyboxPath) is missing; install busybox-static (scripts/install-deps.sh --guest)")
        }
        return q
    }

    /// The newest readable /boot/vmlinuz-* (Debian's linux-image-amd64).
    static func kernelImage() throws -> String {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: "/boot")) ?? []).filter { $0.hasPrefix("vmlinuz-") }
        let sorted = names.sorted { $0.compare($1, options: .numeric) == .orderedAscending }
        guard let newest = sorted.last else {
            throw GuestError("no kernel image /boot/vmlinuz-*; install one with `apt-get install linux-image-amd64`")
        }
        let path = "/boot/\(newest)"
        guard access(path, R_OK) == 0 else { throw GuestError("\(path) is not readable by this user; run as root or make it readable") }
        return path
    }

    static func makeWorkDirectory() throws -> String {
        var template = Array("\(NSTemporaryDirectory())/timeslice-guest-XXXXXX".utf8CString)
        guard let p = mkdtemp(&template) else { throw GuestError("cannot create a temporary directory: \(String(cString: strerror(errno)))") }
        return String(cString: p)
    }
}

/// Polls the console file from its own thread and notes when `marker` first appears.
/// `start` and `stop` are called by the booting thread; `found` is written by the watcher
/// thread and read after `stop` joined it (the semaphore orders the two).
final class ConsoleMarkerWatcher: @unchecked Sendable {
    private let file: String, marker: String
    private let stopping = NSLock()
    private var stopRequested = false          // guarded by stopping
    private var startedAt: UInt64 = 0
    private var found: UInt64?
    private let finished = DispatchSemaphore(value: 0)

    init(file: String, marker: String) {
        self.file = file
        self.marker = marker
    }

    func start() {
        startedAt = MonotonicClock.now()
        let thread = Thread { [self] in
            while !stopping.withLock({ stopRequested }) && found == nil {
                if let data = FileManager.default.contents(atPath: file),
                   String(decoding: data, as: UTF8.self).contains(marker) {
                    found = MonotonicClock.now() - startedAt
                } else {
                    usleep(10_000)
                }
            }
            finished.signal()
        }
        thread.start()
    }

    /// Nanoseconds from start to the marker, or nil when it never appeared.
    func stop() -> UInt64? {
        stopping.withLock { stopRequested = true }
        finished.wait()
        return found
    }
}
