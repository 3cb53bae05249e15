// Every result file is written to a temporary name in the same directory, flushed, and renamed
// over the final name. rename(2) within a directory is atomic, so a reader (or a sweep killed
// at any instant) sees either the previous complete file or the new complete file, never half.
#if canImport(Glibc)
import Glibc
#endif
import Foundation

public enum AtomicFile {
    public static func write(_ data: Data, to path: String) throws {
        let tmp = "\(path).tmp-\(getpid())"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw AtomicFileError(path: tmp, call: "open", code: errno) }
        var ok = true
        data.withUnsafeBytes { raw in
            var off = 0
            while off < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + off, raw.count - off)
                if n < 0 { if errno == EINTR { continue }; ok = false; return }
                off += n
            }
        }
        let code = errno
        // fsync so that a machine crash, not only a killed process, leaves a complete file.
        if ok { ok = fsync(fd) == 0 }
        close(fd)
        guard ok else { unlink(tmp); throw AtomicFileError(path: tmp, call: "write", code: code) }
        guard rename(tmp, path) == 0 else {
            let e = errno
            unlink(tmp)
            throw AtomicFileError(path: path, call: "rename", code: e)
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
