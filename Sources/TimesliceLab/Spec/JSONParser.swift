// A strict RFC 8259 reader for experiment files, producing a `JSONValue`.
//
// Why not JSONDecoder/JSONSerialization: they accept what a hand-written file should not
// (Foundation takes the last of duplicate keys silently, so `"duration"` given twice runs with
// one of them unnoticed) and their syntax errors are NSError texts without a usable position.
// This reader rejects duplicate keys, trailing commas, comments, single quotes, NaN, leading
// zeros and anything after the top-level value, and every error names the line and column
// (1-based, columns counted in characters) and what was expected there.
import Foundation

public struct JSONSyntaxError: Error, CustomStringConvertible, Equatable, Sendable {
    public var line: Int
    public var column: Int
    public var message: String

    public var description: String { "line \(line), column \(column): \(message)" }
}

public struct JSONParser {
    private let bytes: [UInt8]
    private var i = 0
    /// Nesting limit: a file is written by hand; deeper nesting is a mistake (or an attack).
    static let maxDepth = 64

    public static func parse(_ data: Data) throws -> JSONValue {
        var p = JSONParser(bytes: [UInt8](data))
        if p.bytes.starts(with: [0xEF, 0xBB, 0xBF]) { p.i = 3 }  // a UTF-8 byte-order mark
        p.skipSpace()
        let value = try p.value(depth: 0)
        p.skipSpace()
        if p.i < p.bytes.count { throw p.error("unexpected \(p.describe()) after the end of the top-level value") }
        return value
    }

    private init(bytes: [UInt8]) { self.bytes = bytes }

    // MARK: Positions and errors

    private func position(_ at: Int) -> (Int, Int) {
        var line = 1, lineStart = 0
        for k in 0..<min(at, bytes.count) where bytes[k] == UInt8(ascii: "\n") {
            line += 1
            lineStart = k + 1
        }
        // Columns count characters, not bytes: skip UTF-8 continuation bytes.
        let column = bytes[lineStart..<min(at, bytes.count)].filter { $0 & 0xC0 != 0x80 }.count + 1
        return (line, column)
    }

    private func error(_ message: String, at: Int? = nil) -> JSONSyntaxError {
        let (line, column) = position(at ?? i)
        return JSONSyntaxError(line: line, column: column, message: message)
    }

    private func describe() -> String {
        guard i < bytes.count else { return "end of file" }
        let b = bytes[i]
        if b >= 0x21 && b < 0x7F { return "'\(Character(UnicodeScalar(b)))'" }
        return String(format: "byte 0x%02X", b)
    }

    private mutating func skipSpace() {
        while i < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[i]) { i += 1 }
    }

    // MARK: Values

    private mutating func value(depth: Int) throws -> JSONValue {
        guard depth < Self.maxDepth else { throw error("nested deeper than \(Self.maxDepth) levels") }
        guard i < bytes.count else { throw error("unexpected end of file; expected a value") }
        switch bytes[i] {
        case UInt8(ascii: "{"): return try object(depth: depth)
        case UInt8(ascii: "["): return try array(depth: depth)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
        case UInt8(ascii: "'"): throw error("strings take double quotes (\"), not single quotes")
        case UInt8(ascii: "/"): throw error("comments are not allowed in JSON")
        default: throw error("unexpected \(describe()); expected a value (object, list, string, number, true, false or null)")
        }
    }

    private mutating func literal(_ word: String) throws {
        let w = Array(word.utf8)
        guard bytes.count - i >= w.count, Array(bytes[i..<i + w.count]) == w else {
            throw error("unexpected \(describe()); expected a value (did you mean \(word)? strings need double quotes)")
        }
        i += w.count
    }

    private mutating func object(depth: Int) throws -> JSONValue {
        i += 1
        var result: [String: JSONValue] = [:]
        skipSpace()
        if i < bytes.count, bytes[i] == UInt8(ascii: "}") { i += 1; return .object(result) }
        var comma: Int?
        while true {
            skipSpace()
            guard i < bytes.count else { throw error("unexpected end of file inside an object; expected a key or '}'") }
            if bytes[i] == UInt8(ascii: "}") { throw error("trailing comma before '}' (JSON allows none): remove it", at: comma) }
            guard bytes[i] == UInt8(ascii: "\"") else { throw error("unexpected \(describe()); expected a key in double quotes") }
            let keyStart = i
            let key = try string()
            if result[key] != nil { throw error("duplicate key \"\(key)\" (each key may appear once in an object)", at: keyStart) }
            skipSpace()
            guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { throw error("unexpected \(describe()); expected ':' after the key \"\(key)\"") }
            i += 1
            skipSpace()
            result[key] = try value(depth: depth + 1)
            skipSpace()
            guard i < bytes.count else { throw error("unexpected end of file inside an object; expected ',' or '}'") }
            if bytes[i] == UInt8(ascii: ",") { comma = i; i += 1; continue }
            if bytes[i] == UInt8(ascii: "}") { i += 1; return .object(result) }
            throw error("unexpected \(describe()); expected ',' or '}' (is a comma missing?)")
        }
    }

    private mutating func array(depth: Int) throws -> JSONValue {
        i += 1
        var result: [JSONValue] = []
        skipSpace()
        if i < bytes.count, bytes[i] == UInt8(ascii: "]") { i += 1; return .array(result) }
        var comma: Int?
        while true {
            skipSpace()
            guard i < bytes.count else { throw error("unexpected end of file inside a list; expected a value or ']'") }
            if bytes[i] == UInt8(ascii: "]") { throw error("trailing comma before ']' (JSON allows none): remove it", at: comma) }
            result.append(try value(depth: depth + 1))
            skipSpace()
            guard i < bytes.count else { throw error("unexpected end of file inside a list; expected ',' or ']'") }
            if bytes[i] == UInt8(ascii: ",") { comma = i; i += 1; continue }
            if bytes[i] == UInt8(ascii: "]") { i += 1; return .array(result) }
            throw error("unexpected \(describe()); expected ',' or ']' (is a comma missing?)")
        }
    }

    private mutating func string() throws -> String {
        let start = i
        i += 1
        var out: [UInt8] = []
        while true {
            guard i < bytes.count else { throw error("unterminated string (no closing \")", at: start) }
            let b = bytes[i]
            switch b {
            case UInt8(ascii: "\""):
                i += 1
                guard let s = String(validating: out, as: UTF8.self) else { throw error("the string is not valid UTF-8", at: start) }
                return s
            case UInt8(ascii: "\\"):
                i += 1
                guard i < bytes.count else { throw error("unterminated string (no closing \")", at: start) }
                let e = bytes[i]
                i += 1
                switch e {
                case UInt8(ascii: "\""): out.append(0x22)
                case UInt8(ascii: "\\"): out.append(0x5C)
                case UInt8(ascii: "/"): out.append(0x2F)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var code = try hex4()
                    if (0xD800..<0xDC00).contains(code) {
                        guard bytes.count - i >= 6, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u") else {
                            throw error("unpaired surrogate \\u\(String(code, radix: 16, uppercase: true))")
                        }
                        i += 2
                        let low = try hex4()
                        guard (0xDC00..<0xE000).contains(low) else { throw error("unpaired surrogate in \\u escape") }
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00..<0xE000).contains(code) {
                        throw error("unpaired surrogate \\u\(String(code, radix: 16, uppercase: true))")
                    }
                    out.append(contentsOf: Array(String(Character(UnicodeScalar(code)!)).utf8))
                default:
                    throw error("invalid escape '\\\(Character(UnicodeScalar(e)))' in a string", at: i - 2)
                }
            case 0x00..<0x20:
                throw error("control character (byte 0x\(String(format: "%02X", b))) inside a string; write it as an escape such as \\n")
            default:
                out.append(b)
                i += 1
            }
        }
    }

    private mutating func hex4() throws -> UInt32 {
        guard bytes.count - i >= 4, let v = UInt32(String(decoding: bytes[i..<i + 4], as: UTF8.self), radix: 16) else {
            throw error("\\u must be followed by four hex digits")
        }
        i += 4
        return v
    }

    private mutating func number() throws -> JSONValue {
        let start = i
        func digits() -> Int {
            let s = i
            while i < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[i]) { i += 1 }
            return i - s
        }
        if bytes[i] == UInt8(ascii: "-") { i += 1 }
        let intStart = i
        let n = digits()
        guard n > 0 else { throw error("'-' must be followed by digits") }
        if n > 1 && bytes[intStart] == UInt8(ascii: "0") { throw error("numbers must not have leading zeros", at: intStart) }
        var integral = true
        if i < bytes.count, bytes[i] == UInt8(ascii: ".") {
            i += 1
            integral = false
            guard digits() > 0 else { throw error("a digit must follow the decimal point") }
        }
        if i < bytes.count, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
            i += 1
            integral = false
            if i < bytes.count, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i += 1 }
            guard digits() > 0 else { throw error("a digit must follow the exponent") }
        }
        let text = String(decoding: bytes[start..<i], as: UTF8.self)
        if integral, let v = Int64(text) { return .integer(v) }
        guard let d = Double(text), d.isFinite else { throw error("the number \(text) is out of range", at: start) }
        return .real(d)
    }
}
