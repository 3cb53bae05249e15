// How the parent starts the child for one configuration. The real launcher re-executes the
// running binary (`/proc/self/exe _child --config <json>`); tests substitute any program
// (`/bin/sleep 100`, a shell printing a canned outcome) to exercise the same orchestration.
import Foundation

public struct ChildCommand: Sendable {
    public var executable: String
    public var arguments: [String]
    public var environment: [String: String]

    public init(executable: String, arguments: [String], environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
    }
}

public protocol ChildLauncher: Sendable {
    func command(for configuration: RunConfiguration) throws -> ChildCommand
}

/// Re-executes this very binary, so that parent and child are always the same build.
public struct SelfExecLauncher: ChildLauncher {
    public let executable: String

    public init(executable: String = "/proc/self/exe") {
        // Resolve once: /proc/self/exe of the *child* would be itself, which is also right, but
        // a resolved path reads better in error messages.
        self.executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: executable)) ?? executable
    }

    public func command(for configuration: RunConfiguration) throws -> ChildCommand {
        let json = String(decoding: try JSONEncoder().encode(configuration), as: UTF8.self)
        let env = Self.childEnvironment(ProcessInfo.processInfo.environment, configuration: configuration)
        return ChildCommand(executable: executable, arguments: ["_child", "--config", json], environment: env)
    }

    /// The runner's environment without the runtime's TIMESLICE_* variables: the runner has
    /// already folded them into the matrix (EffectiveConfiguration), and the child builds its
    /// runtime from the matrix point alone (RuntimeBridge), so a variable must not reach it a
    /// second time. TIMESLICE_SCHEDTRACE is set from the configuration.
    public static func childEnvironment(_ parent: [String: String], configuration: RunConfiguration) -> [String: String] {
        var env = parent
        for name in EffectiveConfiguration.runtimeVariables { env.removeValue(forKey: name) }
        if let ms = configuration.schedtraceMilliseconds {
            env["TIMESLICE_SCHEDTRACE"] = String(ms)
        } else {
            env.removeValue(forKey: "TIMESLICE_SCHEDTRACE")
        }
        return env
    }
}
