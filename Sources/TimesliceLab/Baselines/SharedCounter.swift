// Progress of a measurement that runs in another process (the Go reference program,
// cyclictest), relayed to this child's progress beacon so that the starvation monitor keeps
// meaning what it means for the in-process probes.
//
// The Go program adds 1 per sample to a 64-bit word at the start of a file both processes map
// shared (`-beacon FILE`). A relay thread here polls the word every 2 ms and beats the beacon
// when it moved, so "the Go probe made no progress for 3 s" reaches the monitor within a few
// milliseconds of when it happened, and the monitor reports `starved` as for any probe.
// Tools with no counter (cyclictest, `go build`) get a relay that beats unconditionally while
// they run: a hang of theirs is caught by their own deadline instead.
#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// A zeroed 64-bit word in a file, mapped shared.
final class SharedCounterFile {
    let path: String
    private let word: UnsafeMutablePointer<UInt64>

    init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw WorkloadFailure("open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        guard ftruncate(fd, 8) == 0 else { throw WorkloadFailure("ftruncate \(path): \(String(cString: strerror(errno)))") }
        let p = mmap(nil, 8, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)
        guard let p, p != MAP_FAILED else { throw WorkloadFailure("mmap \(path): \(String(cString: strerror(errno)))") }
        // Sound: mmap returns page-aligned memory, so the word is aligned for 8-byte loads.
        word = p.bindMemory(to: UInt64.self, capacity: 1)
    }

    deinit { munmap(word, 8) }

    /// The current count. An aligned 8-byte load is single-copy atomic on the 64-bit targets we
    /// build for; @inline(never) makes every call a fresh load from the shared page (the writer
    /// is another process, invisible to the optimizer), and staleness of one poll is harmless.
    @inline(never) var value: UInt64 { word.pointee }
}

enum ProgressRelay {
    /// Runs `body` while a thread beats `progress`: whenever `counter` moved, or every 10 ms
    /// when there is no counter.
    static func whileRunning<T>(_ progress: ProgressBeacon, mirroring counter: SharedCounterFile?,
                                _ body: () throws -> T) rethrows -> T {
        let stop = StopFlag()
        let relay = OSThread(name: "progress-relay") {
            var last: UInt64 = 0
            while !stop.isSet {
                if let counter {
                    let v = counter.value
                    if v != last { last = v; progress.beat() }
                    usleep(2_000)
                } else {
                    progress.beat()
                    usleep(10_000)
                }
            }
        }
        defer { stop.set(); relay.join() }
        return try body()
    }
}

/// A private directory for a run's exchange files, removed afterwards. A child that reported
/// `starved` ended with _exit and could not remove its own; those of dead processes are removed
/// the next time one is created.
final class ScratchDirectory {
    let path: String

    init(_ prefix: String) throws {
        let tmp = NSTemporaryDirectory()
        for name in (try? FileManager.default.contentsOfDirectory(atPath: tmp)) ?? [] where name.hasPrefix(prefix + "-") {
            let fields = name.dropFirst(prefix.count + 1).split(separator: "-")
            if let pid = fields.first.flatMap({ Int32($0) }), kill(pid, 0) != 0 && errno == ESRCH {
                try? FileManager.default.removeItem(atPath: tmp + name)
            }
        }
        path = tmp + "\(prefix)-\(getpid())-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> String { "\(path)/\(name)" }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}
