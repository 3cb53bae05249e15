// results.json `guest`: the run happened inside a qemu guest booted by `timeslice run --guest`.
//
// Who writes what: the host writes the record (profile, accelerator and why, kernel image, qemu
// command line) into the initramfs as `GuestRecord.path`; the guest's runner reads it back
// (`GuestRecord.current()`), adds the kernel command line it booted with (/proc/cmdline) and
// puts it into every results.json it writes; after the guest powered off, the host adds the boot
// time it measured (qemu start → the init's first line on the console). Under TCG every timing
// is emulated: `emulated` is true, results.json carries a warning and tables mark the rows.
import Foundation

public struct GuestRecord: Codable, Equatable, Sendable {
    public enum Accelerator: String, Codable, Sendable {
        case kvm, tcg
    }

    public var profile: GuestProfile
    public var accelerator: Accelerator
    /// Why this accelerator: the KVM probe's outcome, or "--accel tcg".
    public var acceleratorReason: String
    public var kernelImage: String
    public var qemu: [String]
    /// /proc/cmdline inside the guest (written by the guest).
    public var kernelCommandLine: String?
    /// qemu start to the guest's init on the console, on the host's clock (written by the host).
    public var bootSeconds: Double?

    /// TCG emulates the CPU: latencies measure the emulator, not a scheduler. Stored (set
    /// from `accelerator`) so that results.json carries it for readers of the file.
    public private(set) var emulated: Bool

    enum CodingKeys: String, CodingKey {
        case profile, accelerator, acceleratorReason = "accelerator_reason", kernelImage = "kernel_image"
        case qemu, kernelCommandLine = "kernel_command_line", bootSeconds = "boot_seconds", emulated
    }

    public init(profile: GuestProfile, accelerator: Accelerator, acceleratorReason: String, kernelImage: String, qemu: [String]) {
        self.profile = profile
        self.accelerator = accelerator
        self.acceleratorReason = acceleratorReason
        self.kernelImage = kernelImage
        self.qemu = qemu
        emulated = accelerator == .tcg
    }

    /// Where the host puts the record inside the guest's initramfs.
    public static let path = "/etc/timeslice/guest.json"

    /// The warning every results.json of a TCG guest carries.
    public static let emulatedWarning = "guest under TCG (emulated CPU): every latency and timing figure measures the emulator, not the runtime; only functional facts (placement, isolation, NUMA, counts) count"

    /// The record of the guest this process runs in, or nil on an ordinary host.
    public static func current() -> GuestRecord? {
        guard let data = FileManager.default.contents(atPath: path),
              var record = try? JSONDecoder().decode(GuestRecord.self, from: data) else { return nil }
        record.kernelCommandLine = (try? String(contentsOfFile: "/proc/cmdline", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines)
        return record
    }
}
