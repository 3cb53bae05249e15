// Every result file is written to a temporary name in the same directory, flushed, and renamed
// over the final name. rename(2) within a directory is atomic, so a reader (or a sweep killed
// at any instant) sees either the previous complete file or the new complete file, never half.
#if canImport(Glibc)
import Glibc
#endif
import Foundation
import TimesliceHost

public enum AtomicFile {
    public static func write(_ data: Data, to path: String) throws {
        let tmp = "\(path).tmp-\(getpid())"
        do {
            try writeAll(data, to: tmp, flags: O_TRUNC)
        } catch let e as HostSyscallError {
            unlink(tmp)
            throw AtomicFileError(path: tmp, call: e.call, code: e.errno)
        }
        do {
            try SystemCall.retrying("rename") { rename(tmp, path) }
        } catch let e as HostSyscallError {
            unlink(tmp)
            throw AtomicFileError(path: path, call: e.call, code: e.errno)
        }
    }

    /// Opens `path` (created if missing, with `flags` added), writes all of `data` and fsyncs,
    /// so that a machine crash, not only a killed process, leaves complete bytes.
    private static func writeAll(_ data: Data, to path: String, flags: Int32) throws {
        let fd = try SystemCall.retrying("open") { open(path, O_WRONLY | O_CREAT | O_CLOEXEC | flags, 0o644) }
        defer { close(fd) }
        try data.withUnsafeBytes { raw in
            var off = 0
            while off < raw.count {
                off += try SystemCall.retrying("write") { Glibc.write(fd, raw.baseAddress! + off, raw.count - off) }
            }
        }
        try SystemCall.retrying("fsync") { fsync(fd) }
    }

    /// Removes the temporary files (`NAME.tmp-PID`) a writer killed between open and rename
    /// left in `directory`, when process PID no longer exists: `timeslice resume` calls it, so
    /// a resumed run holds exactly its own files. Returns the names removed.
    @discardableResult
    public static func removeOrphanedTemporaries(in directory: String) -> [String] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return [] }
        return names.filter { name in
            guard let marker = name.range(of: ".tmp-", options: .backwards),
                  let pid = Int32(name[marker.upperBound...]) else { return false }
            let alive = kill(pid, 0) == 0 || errno == EPERM
            return !alive && unlink("\(directory)/\(name)") == 0
        }
    }

    public static func write(_ text: String, to path: String) throws {
        try write(Data(text.utf8), to: path)
    }

    /// Appends `text` (one write(2) per chunk, O_APPEND) and fsyncs: the cost does not depend on
    /// the file's size. Used for the summary.csv rows of a running sweep, which is rewritten
    /// whole (atomically) at the end.
    public static func append(_ text: String, to path: String) throws {
        do {
            try writeAll(Data(text.utf8), to: path, flags: O_APPEND)
        } catch let e as HostSyscallError {
            throw AtomicFileError(path: path, call: e.call, code: e.errno)
        }
    }
}

public struct AtomicFileError: Error, CustomStringConvertible {
    public var path: String
    public var call: String
    public var code: Int32
    public var description: String {
        let cause = String(cString: strerror(code))
        let fix: String
        switch code {
        case ENOSPC, EDQUOT: fix = "free space on that file system or run with another --out"
        case EROFS: fix = "the file system is read-only: run with another --out"
        case EACCES, EPERM: fix = "make the results directory writable or run with another --out"
        default: fix = "check the results directory or run with another --out"
        }
        return "cannot write \(path) (\(call): \(cause)); \(fix)"
    }
}

/// Creates the results directories (`--out`, then `<out>/<experiment>`) with messages that name
/// the path, the cause and the fix instead of a Foundation error dump.
public enum OutputDirectory {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
        /// The argument itself is wrong (empty, names a file): exit 64; otherwise the host
        /// refused (permissions, read-only, full): exit 1.
        public var isBadInput: Bool
    }

    /// `mkdir -p path`, then checks that a directory can be created inside it (root ignores
    /// permission bits, so the check creates and removes a probe rather than asking access(2)).
    /// `option`: how the user gave the path (`--out`), for messages.
    public static func prepare(_ path: String, option: String = "--out") throws {
        guard !path.isEmpty else {
            throw Failure(description: "\(option) \"\": the path is empty; give a directory, e.g. \(option) results", isBadInput: true)
        }
        try create(path, option: option)
        let probe = "\(path)/.timeslice-probe-\(getpid())"
        guard mkdir(probe, 0o700) == 0 else { throw failure(creating: probe, errno: errno, option: option, inside: path) }
        rmdir(probe)
    }

    /// `mkdir -p`, one component at a time, so that the message names the component that failed.
    public static func create(_ path: String, option: String? = nil) throws {
        var prefix = path.hasPrefix("/") ? "/" : ""
        for component in path.split(separator: "/") {
            prefix += (prefix.isEmpty || prefix.hasSuffix("/") ? "" : "/") + component
            var st = stat()
            if stat(prefix, &st) == 0 {
                guard st.st_mode & S_IFMT == S_IFDIR else {
                    throw Failure(description: "\(label(option, path))\(prefix) is a file, not a directory; give a directory path (or move the file away)",
                                  isBadInput: true)
                }
                continue
            }
            let e = errno
            guard e == ENOENT, mkdir(prefix, 0o755) == 0 || errno == EEXIST else {
                throw failure(creating: prefix, errno: e == ENOENT ? errno : e, option: option)
            }
        }
    }

    static func label(_ option: String?, _ path: String) -> String {
        option.map { "\($0) \(path): " } ?? ""
    }

    static func failure(creating dir: String, errno code: Int32, option: String?, inside: String? = nil) -> Failure {
        let parent = inside ?? (dir as NSString).deletingLastPathComponent
        let cause = String(cString: strerror(code))
        let what = inside.map { "cannot create files in \($0)" } ?? "cannot create the directory \(dir)"
        let fix: String
        switch code {
        case EACCES, EPERM: fix = "permission denied in \(parent.isEmpty ? "." : parent); choose a directory you can write (e.g. --out results) or fix its permissions"
        case EROFS: fix = "\(parent.isEmpty ? "." : parent) is on a read-only file system; choose another --out"
        case ENOSPC, EDQUOT: fix = "the file system is full; free space or choose another --out"
        case ENAMETOOLONG: fix = "the path is too long; choose a shorter --out"
        default: fix = "this is not a place for files (a virtual or special file system?); choose another --out, e.g. --out results"
        }
        return Failure(description: "\(label(option, inside ?? dir))\(what) (\(cause)): \(fix)", isBadInput: false)
    }
}
