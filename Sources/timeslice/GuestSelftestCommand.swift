import ArgumentParser
import Foundation
import TimesliceLab

/// Hidden: the in-guest placement check (GuestSelftest). Inside a guest it prints the facts as
/// JSON; with --guest it boots that profile, runs itself inside and prints what came back.
struct GuestSelftestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "guest-selftest",
        abstract: "Print NUMA/isolation placement facts observed on this kernel as JSON (used by make guest-test).",
        shouldDisplay: false)

    @Option(help: "Boot this guest profile and run the self-test inside it.")
    var guest: String?

    @Option(help: "With --guest: auto, kvm or tcg.")
    var accel: GuestAcceleratorChoice = .auto

    @Option(help: "With --guest: directory for console.log, facts.json and the study's results.")
    var out = "results/guest-selftest"

    func run() throws {
        guard let guest else {
            let facts = GuestSelftest.run(studyOut: "/out/results") { line in
                FileHandle.standardError.write(Data((line + "\n").utf8))
            }
            print(String(decoding: try GuestSelftest.encoded(facts), as: UTF8.self))
            return
        }
        let profile: GuestProfile
        do { profile = try GuestProfile.load(guest) } catch { fail("--guest: \(error)", ExitCodes.badInput) }
        let result: GuestSelftestReport
        do {
            result = try GuestSelftest.boot(profile: profile, accelerator: accel, out: "\(out)/\(profile.name)") { line in
                FileHandle.standardError.write(Data((line + "\n").utf8))
            }
        } catch { fail("guest-selftest --guest \(guest): \(error)", ExitCodes.environment) }
        print(String(decoding: try GuestSelftest.encoded(result), as: UTF8.self))
        if result.status != 0 { throw ExitCodes.configurationFailed }
    }
}
