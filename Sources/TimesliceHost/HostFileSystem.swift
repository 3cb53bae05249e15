// Every host fact is read through this one door so that tests can point it
// at a fake sysfs/procfs tree built in a temporary directory.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Reads host files under `root` ("/" for the live machine). Reads never
/// throw: a missing file is a fact ("this kernel does not expose it"), which
/// callers turn into nil or an empty set rather than an error.
public struct HostFileSystem: Sendable {
    /// Directory that stands in for "/"; absolute paths are resolved under it.
    public let root: String

    public init(root: String) {
        self.root = root
    }

    /// The running machine.
    public static let live = HostFileSystem(root: "/")

    /// True when this reads the real machine, so facts that only a syscall or
    /// instruction can give (affinity, CPUID) may be combined with the files.
    public var isLive: Bool { root == "/" || root.isEmpty }

    /// `absolutePath` resolved under `root`.
    public func resolve(_ absolutePath: String) -> String {
        if isLive { return absolutePath }
        let base = root.hasSuffix("/") ? String(root.dropLast()) : root
        return absolutePath.hasPrefix("/") ? base + absolutePath : base + "/" + absolutePath
    }

    /// Whole contents of a file, or nil if it cannot be opened or read.
    /// Uses read(2) until EOF because sysfs and procfs report sizes of 4096 or
    /// 0 that have nothing to do with their contents.
    public func read(_ absolutePath: String) -> String? {
        let fd = open(resolve(absolutePath), O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 8192)
        while true {
            let n = chunk.withUnsafeMutableBytes { systemRead(fd, $0.baseAddress, $0.count) }
            if n > 0 {
                bytes.append(contentsOf: chunk[0..<n])
            } else if n == 0 {
                break
            } else if errno == EINTR {
                continue
            } else {
                return nil
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// A file's contents without surrounding whitespace, or nil.
    public func readTrimmed(_ absolutePath: String) -> String? {
        read(absolutePath)?.trimmingHostWhitespace()
    }

    /// A file holding a kernel CPU list, or nil if absent or malformed.
    public func readCPUSet(_ absolutePath: String) -> CPUSet? {
        guard let text = read(absolutePath) else { return nil }
        return try? CPUSet(parsing: text)
    }

    /// A file holding one integer, or nil.
    public func readInt(_ absolutePath: String) -> Int? {
        readTrimmed(absolutePath).flatMap { Int($0) }
    }

    /// Entry names of a directory (no "." or ".."), sorted; empty if absent.
    public func list(_ dir: String) -> [String] {
        guard let handle = opendir(resolve(dir)) else { return [] }
        defer { closedir(handle) }
        var names: [String] = []
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    /// Whether a path exists (file, directory or symlink target).
    public func exists(_ absolutePath: String) -> Bool {
        access(resolve(absolutePath), F_OK) == 0
    }

    /// The numbers N of the entries named `prefix` + N in a directory
    /// ("cpu0", "node1"), ascending; entries like "cpufreq" are skipped.
    func numberedEntries(_ dir: String, prefix: String) -> [Int] {
        list(dir).compactMap { name -> Int? in
            guard name.hasPrefix(prefix) else { return nil }
            let digits = name.dropFirst(prefix.count)
            guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
            return Int(digits)
        }.sorted()
    }
}

/// read(2) under a name that the `read(_:)` method does not shadow.
private func systemRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int {
    read(fd, buffer, count)
}
