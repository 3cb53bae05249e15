// The Foundation-heavy preemption stress workload (TimesliceStressWorkloads) as a
// program of its own, so that `make static-stress` can build it with
// --static-swift-stdlib (the Swift runtime, Foundation, Dispatch and ICU inside the
// executable) and run it many times at 50 µs slices.
// Exit 0 with "OK" when every goroutine computed the right answer; a hang is the
// caller's deadline (timeout) to catch. Usage: timeslice-stress [goroutines] [maxProcs]
import Foundation
import Glibc
import Timeslice
import TimesliceStressWorkloads

let arguments = CommandLine.arguments
let goroutines = arguments.count > 1 ? Int(arguments[1]) ?? 1000 : 1000
let maxProcs = arguments.count > 2 ? Int(arguments[2]) ?? 2 : 2
var configuration = RuntimeConfiguration(maxProcs: maxProcs, preemption: .async, timeSliceNanoseconds: 50_000)
configuration.schedtraceMilliseconds = nil
let (passed, counters) = Runtime.run(configuration) { () -> (Int, RuntimeCounters) in
    let results = Channel<Bool>(capacity: goroutines)
    for i in 0..<goroutines {
        switch i % 5 {
        case 0: go { results.send(StressWorkloads.allocationHeavy(i)) }
        case 1: go { results.send(StressWorkloads.foundationHeavy(i)) }
        case 2: go { results.send(StressWorkloads.syscallHeavy(i)) }
        case 3: go { results.send(StressWorkloads.lazyParking(i / 5)) }
        default: go { results.send(StressWorkloads.exclusivityHeavy(i)) }
        }
    }
    var passed = 0
    for _ in 0..<goroutines where results.receive()! { passed += 1 }
    return (passed, Runtime.counters)
}
let line = "\(passed == goroutines ? "OK" : "FAIL") \(passed)/\(goroutines) delivered \(counters.preemptionsDelivered) "
    + "refused: foreignPC \(counters.preemptionsRefusedForeignPC) foreignCaller \(counters.preemptionsRefusedForeignCaller) "
    + "brokenChain \(counters.preemptionsRefusedBrokenChain) deep \(counters.preemptionsRefusedDeep) "
    + "stack \(counters.preemptionsRefusedStackSpace) deferred: lock \(counters.preemptionsDeferredLockHeld) "
    + "section \(counters.preemptionsDeferredRuntimeSection) once wirings \(counters.onceWirings)"
print(line)
exit(passed == goroutines ? 0 : 1)
