// CPU sets in the kernel's own list syntax ("0-3,5,7-8"), the one vocabulary
// shared by sysfs, /proc, the kernel command line, cgroups and our result files.

/// A sorted set of CPU ids. Value type; encodes in JSON as its list string so
/// result files read like sysfs.
public struct CPUSet: Hashable, Codable, Sendable, Sequence, CustomStringConvertible, ExpressibleByArrayLiteral {
    /// Ascending, without duplicates: every operation relies on it.
    public let sorted: [Int]

    public init(_ cpus: some Sequence<Int>) {
        sorted = Array(Set(cpus)).sorted()
    }

    public init(arrayLiteral elements: Int...) {
        self.init(elements)
    }

    /// Parses the kernel's cpulist syntax (as `bitmap_parselist` does):
    /// comma-separated ids and ranges "a-b", optionally strided "a-b:used/group"
    /// (e.g. "0-15:2/4" = 0,1,4,5,8,9,12,13). Whitespace around tokens and a
    /// trailing newline are ignored; an empty string is the empty set, which is
    /// what sysfs writes for an empty mask.
    public init(parsing list: String) throws {
        var cpus: [Int] = []
        let trimmed = list.trimmingHostWhitespace()
        if trimmed.isEmpty {
            self.init(cpus)
            return
        }
        for rawToken in trimmed.split(separator: ",", omittingEmptySubsequences: false) {
            let token = String(rawToken).trimmingHostWhitespace()
            guard let ids = CPUSet.expand(token) else {
                throw CPUSetParseError(list: list, token: token)
            }
            cpus.append(contentsOf: ids)
        }
        self.init(cpus)
    }

    /// The ids of one token of a cpulist, or nil when it is malformed.
    private static func expand(_ token: String) -> [Int]? {
        guard !token.isEmpty else { return nil }
        var rangePart = Substring(token)
        var stride: (used: Int, group: Int)? = nil
        if let colon = token.firstIndex(of: ":") {
            rangePart = token[..<colon]
            let strideParts = token[token.index(after: colon)...].split(separator: "/", omittingEmptySubsequences: false)
            guard strideParts.count == 2,
                  let used = parseID(strideParts[0]), let group = parseID(strideParts[1]),
                  used >= 1, group >= 1, used <= group
            else { return nil }
            stride = (used, group)
        }
        let bounds = rangePart.split(separator: "-", omittingEmptySubsequences: false)
        switch bounds.count {
        case 1:
            guard stride == nil, let id = parseID(bounds[0]) else { return nil }
            return [id]
        case 2:
            guard let low = parseID(bounds[0]), let high = parseID(bounds[1]), low <= high else { return nil }
            guard let (used, group) = stride else { return Array(low...high) }
            return (low...high).filter { ($0 - low) % group < used }
        default:
            return nil
        }
    }

    private static func parseID(_ text: Substring) -> Int? {
        guard !text.isEmpty, text.allSatisfy({ $0.isASCII && $0.isNumber }), text.count <= 9 else { return nil }
        return Int(text)
    }

    /// Kernel list syntax, consecutive ids folded into ranges; "" when empty.
    public var listString: String {
        var parts: [String] = []
        var index = 0
        while index < sorted.count {
            var end = index
            while end + 1 < sorted.count && sorted[end + 1] == sorted[end] + 1 { end += 1 }
            parts.append(end == index ? "\(sorted[index])" : "\(sorted[index])-\(sorted[end])")
            index = end + 1
        }
        return parts.joined(separator: ",")
    }

    public var description: String { listString }

    public var count: Int { sorted.count }
    public var isEmpty: Bool { sorted.isEmpty }
    public var first: Int? { sorted.first }
    public var last: Int? { sorted.last }

    public func contains(_ cpu: Int) -> Bool {
        // Binary search: sets can hold thousands of CPUs and the resolver asks often.
        var low = 0, high = sorted.count
        while low < high {
            let mid = (low + high) / 2
            if sorted[mid] == cpu { return true }
            if sorted[mid] < cpu { low = mid + 1 } else { high = mid }
        }
        return false
    }

    public func intersection(_ other: CPUSet) -> CPUSet { CPUSet(sorted.filter(other.contains)) }
    public func union(_ other: CPUSet) -> CPUSet { CPUSet(sorted + other.sorted) }
    public func subtracting(_ other: CPUSet) -> CPUSet { CPUSet(sorted.filter { !other.contains($0) }) }
    public func isSubset(of other: CPUSet) -> Bool { sorted.allSatisfy(other.contains) }
    public func isDisjoint(with other: CPUSet) -> Bool { !sorted.contains(where: other.contains) }

    public func makeIterator() -> IndexingIterator<[Int]> { sorted.makeIterator() }

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        do {
            try self.init(parsing: text)
        } catch let error as CPUSetParseError {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: error.description)
        }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(listString)
    }
}

/// A malformed CPU list; names the offending token so a user can find it in a
/// long command line or spec.
public struct CPUSetParseError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The whole list as given.
    public let list: String
    /// The comma-separated token that could not be read.
    public let token: String

    public var description: String {
        "invalid CPU list \"\(list.trimmingHostWhitespace())\": bad token \"\(token)\" (expected ids and ranges like 0-3,5,7-8)"
    }
}

extension StringProtocol {
    /// Foundation-free trim: sysfs and procfs values end in "\n" and the
    /// command line separates with spaces.
    func trimmingHostWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" }
        guard let start = firstIndex(where: { !isSpace($0) }) else { return "" }
        let end = lastIndex(where: { !isSpace($0) })!
        return String(self[start...end])
    }
}
