// The guest's root file system, built per boot as an uncompressed initramfs (CPIOArchive):
//   /init                      busybox sh script (below): mounts, runs one timeslice command,
//                              streams /out back as base64 of a tar on the second serial port
//   /bin/busybox               the host's static busybox (busybox-static), applets as symlinks
//   /bin/timeslice             a --static-swift-stdlib build of this tool
//   <loader and libraries>     what `ldd` names for it (glibc and libnuma stay dynamic), at the
//                              same absolute paths as on the host
//   /experiments/*.json        the experiment files (and the shipped ones the command names)
//   /etc/timeslice/guest.json  the GuestRecord (profile, accelerator) the guest's runner reports
//
// Console protocol (ttyS0): the init prints `markerUp` first (the host times the boot with it)
// and `markerExit rc=N` after the command; the results arrive on ttyS1 between nothing and EOF.
import Foundation

enum GuestInitramfs {
    static let markerUp = "TIMESLICE-GUEST-UP"
    static let markerExit = "TIMESLICE-GUEST-EXIT"
    static let busyboxPath = "/bin/busybox"

    /// The archive for running `/bin/timeslice <command>` in the guest.
    static func build(timeslice: String, files: [(guest: String, host: String)], record: GuestRecord?,
                      command: [String]) throws -> Data {
        var cpio = CPIOArchive()
        for dir in ["dev", "proc", "sys", "tmp", "out", "experiments", "etc/timeslice"] { cpio.addDirectory(dir) }
        cpio.addFile("bin/busybox", contents: try read(busyboxPath), mode: 0o755)
        cpio.addFile("bin/timeslice", contents: try read(timeslice), mode: 0o755)
        for lib in try sharedLibraries(of: timeslice) {
            cpio.addFile(lib, contents: try read(lib), mode: 0o755)
        }
        for f in files { cpio.addFile(f.guest, contents: try read(f.host), mode: 0o644) }
        if let record {
            let enc = JSONEncoder()
            enc.outputFormatting = [.sortedKeys]
            cpio.addFile(GuestRecord.path, contents: try enc.encode(record), mode: 0o644)
        }
        cpio.addFile("init", contents: Data(initScript(command: ["/bin/timeslice"] + command).utf8), mode: 0o755)
        return cpio.finish()
    }

    /// A guest that only proves it boots: prints the marker and powers off (the KVM probe).
    static func probe() throws -> Data {
        var cpio = CPIOArchive()
        for dir in ["dev", "proc", "sys"] { cpio.addDirectory(dir) }
        cpio.addFile("bin/busybox", contents: try read(busyboxPath), mode: 0o755)
        cpio.addFile("init", contents: Data("""
            #!/bin/busybox sh
            /bin/busybox echo \(markerUp)
            /bin/busybox poweroff -f

            """.utf8), mode: 0o755)
        return cpio.finish()
    }

    /// The init: one command, its stdout in /out/stdout.txt, its stderr on the console (piped, which the
    /// host keeps as console.log), then /out as tar | base64 on ttyS1 and power off. `poweroff -f`
    /// with qemu's -no-reboot ends qemu; a kernel panic does too (panic=-1).
    static func initScript(command: [String]) -> String {
        let quoted = command.map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }.joined(separator: " ")
        return """
            #!/bin/busybox sh
            /bin/busybox --install -s /bin
            export PATH=/bin HOME=/tmp
            mount -t proc proc /proc
            mount -t sysfs sysfs /sys
            mount -t devtmpfs devtmpfs /dev
            mount -t tmpfs tmpfs /tmp
            echo "\(markerUp) uptime=$(cut -d' ' -f1 /proc/uptime)"
            cd /
            # stderr through a pipe, not the console tty: no live status line redrawn into console.log.
            set -o pipefail
            \(quoted) 2>&1 > /out/stdout.txt | cat
            rc=$?
            echo "\(markerExit) rc=$rc"
            stty -F /dev/ttyS1 raw -echo 2>/dev/null
            tar -c -C /out . | base64 > /dev/ttyS1
            sync
            poweroff -f

            """
    }

    /// The dynamic loader and libraries the executable needs (`ldd`), as absolute paths.
    static func sharedLibraries(of executable: String) throws -> [String] {
        let r = try ChildProcess.run(executable: "/usr/bin/ldd", arguments: [executable], deadlineNanoseconds: 30_000_000_000)
        guard r.termination == .exited(0) else {
            throw GuestError("ldd \(executable) failed: \(String(decoding: r.stderr + r.stdout, as: UTF8.self))")
        }
        return parseLdd(String(decoding: r.stdout, as: UTF8.self))
    }

    /// `libnuma.so.1 => /lib/x86_64-linux-gnu/libnuma.so.1 (0x…)` and `/lib64/ld-linux-x86-64.so.2 (0x…)`.
    static func parseLdd(_ text: String) -> [String] {
        text.split(separator: "\n").compactMap { line -> String? in
            let afterArrow = line.range(of: "=>").map { String(line[$0.upperBound...]) } ?? String(line)
            let path = afterArrow.trimmingCharacters(in: .whitespaces).split(separator: " ").first.map(String.init)
            return path.flatMap { $0.hasPrefix("/") ? $0 : nil }
        }
    }

    static func read(_ path: String) throws -> Data {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw GuestError("cannot read \(path): \(String(cString: strerror(errno)))")
        }
        return data
    }
}

/// A guest that cannot be built, booted or read back; the message says what and how to fix it.
public struct GuestError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}
