// TallyNet: a small Keras-compatible CNN trainer (NHWC, float32) in pure Swift,
// running its GEMMs on Debian's BLIS. Start at `Sequential`; see README.md.
@_exported import Tally
