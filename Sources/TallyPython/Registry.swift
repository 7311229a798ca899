// The lists of module functions beyond the core's. A feature adds its list here
// (one line) and defines it in its own file.
func extraDeclarations() -> [Declaration] {
    netFunctions
        + metricsFunctions
        + kerasFunctions
}
