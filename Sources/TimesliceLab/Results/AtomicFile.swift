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
            let fd = try SystemCall.retrying("open") { open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644) }
            defer { close(fd) }
            try data.withUnsafeBytes { raw in
                var off = 0
                while off < raw.count {
                    off += try SystemCall.retrying("write") { Glibc.write(fd, raw.baseAddress! + off, raw.count - off) }
                }
            }
            // fsync so that a machine crash, not only a killed process, leaves a complete file.
            try SystemCall.retrying("fsync") { fsync(fd) }
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

    public static func write(_ text: String, to path: String) throws {
        try write(Data(text.utf8), to: path)
    }
}

public struct AtomicFileError: Error, CustomStringConvertible {
    public var path: String
    public var call: String
    public var code: Int32
    public var description: String { "\(call) \(path): \(String(cString: strerror(code)))" }
}
