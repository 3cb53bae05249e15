// The one error type for bad experiment files. Its description is the whole user message:
// `experiments/x.json: matrix.preemption[1]: "asynch" is not one of cooperative, polling, async`.
public struct SpecError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The file the spec came from, or nil when it came from memory (tests, the child).
    public var file: String?
    /// The JSON path of the offending value, e.g. `matrix.preemption[1]`; empty for the root.
    public var path: String
    /// What is wrong and what would be right.
    public var message: String

    public init(file: String? = nil, path: String, message: String) {
        self.file = file
        self.path = path
        self.message = message
    }

    public var description: String {
        var parts: [String] = []
        if let file { parts.append(file) }
        if !path.isEmpty { parts.append(path) }
        parts.append(message)
        return parts.joined(separator: ": ")
    }
}

/// A JSON path under construction. Kept as a value so that each nested reader owns its own.
public struct JSONPath: CustomStringConvertible, Sendable {
    private var text: String

    public static let root = JSONPath(text: "")

    private init(text: String) { self.text = text }

    public func key(_ k: String) -> JSONPath {
        JSONPath(text: text.isEmpty ? k : "\(text).\(k)")
    }

    public func index(_ i: Int) -> JSONPath {
        JSONPath(text: "\(text)[\(i)]")
    }

    public var description: String { text }

    func error(_ message: String) -> SpecError {
        SpecError(path: text, message: message)
    }
}
