import TallyPythonBridge

// The lists of `_tally`'s module functions beyond the core's. A feature adds its
// list here (one line) and defines it in its own file. (The trainer's functions
// are `_tallynet`'s, in Sources/TallyNetPython.)
func extraDeclarations() -> [Declaration] {
    metricsFunctions
        + kerasFunctions
        + tuningFunctions
        + intervalFunctions
        + tableFunctions
        + calibrationFunctions
}
