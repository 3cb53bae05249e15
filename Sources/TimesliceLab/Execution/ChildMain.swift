// The child side of one configuration (`timeslice _child --config <json>`): run the workload
// under the starvation monitor and print exactly one outcome line. The exit code is 0 whenever
// an outcome was printed, whatever the status; a non-zero exit or a missing line means the
// child crashed, which the parent records as `error` with the child's stderr.
#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Synchronization
import TimesliceHost

public enum ChildMain {
    public static func run(configJSON: String) -> Int32 {
        let config: RunConfiguration
        do {
            config = try JSONDecoder().decode(RunConfiguration.self, from: Data(configJSON.utf8))
        } catch {
            ChildIO.stdout(ChildOutcome(status: .error, reason: "child could not decode its configuration: \(error)").line())
            return 0
        }
        ChildIO.stderr(ChildOutcome.startedMarker + " \(config.id)\n")

        // The instrument: 1 ns timer slack on this thread before any other thread exists, so
        // that every thread of every runtime (and any program started from here) inherits it.
        try? TimerSlack.minimizeForCurrentThread()

        // Exactly one outcome is printed: by the workload's end or by the monitor, whichever first.
        let reported = Atomic<Bool>(false)
        @Sendable func report(_ outcome: ChildOutcome) -> Bool {
            guard reported.compareExchange(expected: false, desired: true, ordering: .sequentiallyConsistent).exchanged else { return false }
            var outcome = outcome
            outcome.threads = ThreadActivity.capture()
            ChildIO.stdout(outcome.line())
            return true
        }

        let beacon = ProgressBeacon()
        let context = WorkloadContext(configuration: config, progress: beacon)
        // The Go program watches its own probe with the same timeout and reports the stall with
        // its events (censored samples); the lab's monitor gives it 2 s to do so first.
        let grace: UInt64 = config.point.runtime == .go ? 2_000_000_000 : 0
        let monitor = StarvationMonitor(beacon: beacon, timeout: config.starvationTimeoutNanoseconds + grace,
                                        giveUpAfter: config.childDeadlineNanoseconds) { stall, reason in
            // Keep what the probe recorded before the stall, censored at this moment.
            let sampling = context.probe.freezeAndCensor(at: MonotonicClock.now()) { usleep(1_000) }
            var outcome: ChildOutcome
            if let sampling {
                outcome = ChildOutcome(status: stall == .starved ? .starved : .timeout, reason: reason,
                                       result: WorkloadResult(sampling: sampling))
            } else {
                outcome = ChildOutcome(status: stall == .starved ? .starved : .timeout, reason: reason)
            }
            outcome.counters["probe_samples"] = beacon.count
            if report(outcome) { _exit(0) }
        }
        let monitorThread = monitor.start()

        let outcome: ChildOutcome
        do {
            var result = try config.workload.run(context)
            result.histograms.merge(context.runtimeHistograms) { ours, _ in ours }
            outcome = ChildOutcome(status: .ok, result: result, placement: placementReport(context))
        } catch let e as WorkloadStalled {
            outcome = e.result.map { ChildOutcome(status: .starved, reason: e.reason, result: $0, placement: placementReport(context)) }
                ?? ChildOutcome(status: .starved, reason: e.reason)
        } catch let e as WorkloadUnavailable {
            outcome = ChildOutcome(status: .unavailable, reason: e.reason)
        } catch let e as PlacementError {
            outcome = ChildOutcome(status: .error, reason: "placement: \(e.description)")
        } catch {
            outcome = ChildOutcome(status: .error, reason: "\(error)")
        }
        monitor.stop()
        monitorThread.join()
        _ = report(outcome)
        return 0
    }

    static func placementReport(_ context: WorkloadContext) -> PlacementReport {
        let config = context.configuration
        let fallbackNote = config.placementFallback.map {
            "requested \(config.point.effectivePlacement.idText) cannot be honoured on this host; ran as \($0.idText)"
        }
        let notes = [fallbackNote, context.placementNote].compactMap { $0 }
        if var report = context.pinning?.report() {
            report.requested = config.point.effectivePlacement.json
            report.note = notes.isEmpty ? nil : notes.joined(separator: "; ")
            return report
        }
        // Runtime variants: the runtime pinned its own threads and verified each.
        let observed = context.runtimePlacement
        return PlacementReport(requested: config.point.effectivePlacement.json,
                               workerCPUs: observed.isEmpty ? nil : observed.map(\.requested),
                               verified: observed.isEmpty ? nil : observed.allSatisfy(\.verified),
                               threads: observed, warnings: [], note: notes.isEmpty ? nil : notes.joined(separator: "; "))
    }
}
