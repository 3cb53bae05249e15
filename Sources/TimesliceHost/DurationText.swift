// The one duration grammar of the project: experiment files, CLI options and TIMESLICE_*
// environment variables all write durations as a plain decimal number and a unit ("50us",
// "1.5ms", "3s") so that a reader never has to guess whether 10 means ms or ns. Exponents,
// signs and bare numbers are refused. Internally everything is nanoseconds.
public enum DurationText {
    /// Units accepted, longest suffix first so that "ms" is not read as "m" + "s".
    static let units: [(suffix: String, nanoseconds: Double)] = [
        ("ns", 1), ("us", 1_000), ("µs", 1_000), ("ms", 1_000_000), ("s", 1_000_000_000),
        ("m", 60_000_000_000),
    ]

    public static let allowedUnits = "ns, us, ms, s, m"

    /// Parses "50us" into 50_000. Returns nil for anything that is not a non-negative finite
    /// number followed by a known unit, or that does not fit in UInt64 nanoseconds; range checks
    /// are the caller's (they differ per field).
    public static func parse(_ text: String) -> UInt64? {
        let trimmed = text.trimmingHostWhitespace()
        for (suffix, scale) in units where trimmed.hasSuffix(suffix) {
            let number = String(trimmed.dropLast(suffix.count)).trimmingHostWhitespace()
            // "1e3ms" and "-5ms" are refused on purpose: plain decimals only.
            guard !number.isEmpty, number.allSatisfy({ $0.isNumber || $0 == "." }),
                  let value = Double(number), value.isFinite, value >= 0
            else { return nil }
            let ns = (value * scale).rounded()
            guard ns < Double(UInt64.max) else { return nil }
            return UInt64(ns)
        }
        return nil
    }

    /// The shortest exact rendering: 50_000 -> "50us", 1_500_000 -> "1500us", 3e9 -> "3s".
    /// Used in configuration ids, so it must be stable and unambiguous.
    public static func render(_ ns: UInt64) -> String {
        if ns != 0 && ns % 1_000_000_000 == 0 { return "\(ns / 1_000_000_000)s" }
        if ns != 0 && ns % 1_000_000 == 0 { return "\(ns / 1_000_000)ms" }
        if ns != 0 && ns % 1_000 == 0 { return "\(ns / 1_000)us" }
        return "\(ns)ns"
    }
}
