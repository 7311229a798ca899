// TallyNet: a small Keras-compatible CNN trainer (NHWC, float32) in pure Swift,
// running its GEMMs on Debian's BLIS. Start at `Sequential`; see README.md.
// Its metrics are the Tally core's `ConfusionCounts`: a client imports Tally
// as well to read them (TallyNet does not re-export it).
