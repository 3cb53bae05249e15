// The shipped experiments: `experiments/*.json` of the repository. Found from the current
// directory first, then by walking up from the executable (`.build/<config>/timeslice` lives
// three levels below the repository root), so `timeslice list` works from anywhere in a checkout.
import Foundation

public struct CatalogEntry: Sendable {
    public var file: String
    public var name: String
    public var description: String
    /// nil when the file is valid; the validation message otherwise.
    public var problem: String?
}

public enum ExperimentCatalog {
    public static func locate(executable: String = "/proc/self/exe") -> String? {
        var candidates = [FileManager.default.currentDirectoryPath + "/experiments"]
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: executable)) ?? executable
        var dir = URL(fileURLWithPath: exe).deletingLastPathComponent()
        for _ in 0..<5 {
            candidates.append(dir.appendingPathComponent("experiments").path)
            dir = dir.deletingLastPathComponent()
        }
        return candidates.first { isDirectory($0) }
    }

    public static func entries(in directory: String) -> [CatalogEntry] {
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
            .filter { $0.hasSuffix(".json") }.sorted()
        return files.map { name in
            let path = "\(directory)/\(name)"
            do {
                let spec = try SpecDecoder.decode(file: path)
                return CatalogEntry(file: path, name: spec.name, description: spec.description, problem: nil)
            } catch {
                return CatalogEntry(file: path, name: String(name.dropLast(5)), description: "", problem: "\(error)")
            }
        }
    }

    /// `name` -> the shipped file of that name, so `timeslice run quickstart` works too.
    public static func resolve(_ argument: String) -> String {
        if FileManager.default.fileExists(atPath: argument) || argument.contains("/") || argument.hasSuffix(".json") {
            return argument
        }
        if let dir = locate(), FileManager.default.fileExists(atPath: "\(dir)/\(argument).json") {
            return "\(dir)/\(argument).json"
        }
        return argument
    }

    static func isDirectory(_ path: String) -> Bool {
        var isDir: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDir) && isDir.boolValue
    }
}
