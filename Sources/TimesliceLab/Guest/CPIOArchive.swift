// The initramfs format: a cpio archive in the "newc" (SVR4, no CRC) layout the kernel unpacks
// into its root file system (Documentation/driver-api/early-userspace/buffer-format.rst).
// Each entry: a 110-byte ASCII header ("070701" and 13 eight-digit hex fields), the NUL-terminated
// name padded to 4 bytes, the data padded to 4 bytes; the archive ends with "TRAILER!!!".
// Parents must come before their children; `CPIOArchive` adds missing directories itself.
import Foundation

struct CPIOArchive {
    private(set) var bytes = Data()
    private var directories: Set<String> = []
    private var inode: UInt32 = 1

    /// A regular file at `path` (absolute or relative to the root; stored without the leading "/").
    mutating func addFile(_ path: String, contents: Data, mode: UInt32) {
        addParents(of: path)
        append(name: path, mode: 0o100000 | mode, data: contents)
    }

    mutating func addDirectory(_ path: String) {
        let name = Self.normalized(path)
        guard !name.isEmpty, !directories.contains(name) else { return }
        addParents(of: name)
        directories.insert(name)
        append(name: name, mode: 0o040755, data: Data())
    }

    mutating func addSymlink(_ path: String, target: String) {
        addParents(of: path)
        append(name: path, mode: 0o120777, data: Data(target.utf8))
    }

    /// The trailer; nothing may be added afterwards.
    mutating func finish() -> Data {
        append(name: "TRAILER!!!", mode: 0, data: Data())
        return bytes
    }

    private mutating func addParents(of path: String) {
        let parts = Self.normalized(path).split(separator: "/").dropLast()
        var prefix = ""
        for part in parts {
            prefix += prefix.isEmpty ? String(part) : "/\(part)"
            if !directories.contains(prefix) {
                directories.insert(prefix)
                append(name: prefix, mode: 0o040755, data: Data())
            }
        }
    }

    private static func normalized(_ path: String) -> String {
        String(path.drop { $0 == "/" })
    }

    private mutating func append(name rawName: String, mode: UInt32, data: Data) {
        let name = Self.normalized(rawName)
        let nameBytes = Array(name.utf8) + [0]
        let isDirectory = mode & 0o170000 == 0o040000
        let fields: [UInt32] = [
            inode, mode, 0, 0, isDirectory ? 2 : 1, 0, UInt32(data.count),
            0, 0, 0, 0, UInt32(nameBytes.count), 0,
        ]
        inode += 1
        var header = "070701"
        for f in fields { header += String(format: "%08X", f) }
        bytes.append(contentsOf: Array(header.utf8))
        bytes.append(contentsOf: nameBytes)
        pad()
        bytes.append(data)
        pad()
    }

    private mutating func pad() {
        while bytes.count % 4 != 0 { bytes.append(0) }
    }
}
