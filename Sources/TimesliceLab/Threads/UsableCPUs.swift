// The number of CPUs this process may use: its affinity mask intersected with the cgroup quota,
// as the runtime's default GOMAXPROCS is computed. Used for "one worker per CPU" defaults.
import TimesliceHost

enum UsableCPUs {
    static func count() -> Int {
        let host = HostSnapshot.capture()
        return max(1, defaultMaxProcs(affinity: host.allowed, cgroup: host.cgroup))
    }
}
