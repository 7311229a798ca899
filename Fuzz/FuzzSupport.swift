// Shared by the fuzz targets.

/// Stops the fuzzer with a message: a crash is what libFuzzer records as a finding.
func check(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fatalError("fuzz check failed: \(message())") }
}
