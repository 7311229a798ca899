// Trainer benchmark: SGEMM peak measured in this run, then the seed model's training
// speed at 64×64×3 and 204×204×3 (batch 32), as ratios to the compute floor at that peak.
// Build and run with bench/trainer/run.sh (release build). Not a test: it prints, it does not assert.
// TRAINER_BATCHES=N trains N batches per size (4 at 204, 8 at 64 by default); TRAINER_ONLY=1 stops
// after the training figures (for `perf record` of the training loop alone).
import CBLAS
import Glibc
import Tally
import TallyNet
import TallyNetKernels

func now() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
}

/// Resets the kernel's peak-RSS mark (Linux `clear_refs` 5), so each model is measured alone.
func resetPeakRSS() {
    if getenv("NO_CLEAR") == nil, let f = fopen("/proc/self/clear_refs", "w") {
        fputs("5", f)
        fclose(f)
    }
}

/// Peak resident memory since the last reset (`VmHWM`), in MiB.
func peakRSSMiB() -> Double {
    if let f = fopen("/proc/self/status", "r") {
        defer { fclose(f) }
        var line = [CChar](repeating: 0, count: 256)
        while fgets(&line, 256, f) != nil {
            let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if text.hasPrefix("VmHWM:") {
                let kb = text.dropFirst(6).split(whereSeparator: { $0 == " " || $0 == "\t" }).first.flatMap { Double($0) } ?? 0
                return kb / 1024
            }
        }
    }
    var u = rusage()
    getrusage(Int32(RUSAGE_SELF.rawValue), &u)
    return Double(u.ru_maxrss) / 1024
}

/// Process CPU time (all threads): less disturbed than wall-clock time by other work on the machine.
func cpuNow() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
}

let threads = Int(CommandLine.arguments.dropFirst().first ?? "") ?? 2

/// Best-of-`reps` GFLOP/s of one row-major SGEMM shape on `threads` BLAS threads: per
/// wall-clock second, and per CPU second (summed over threads; per-core efficiency).
func sgemmRates(m: Int, n: Int, k: Int, threads: Int, reps: Int) -> (wall: Double, cpu: Double) {
    bli_thread_set_num_threads(dim_t(threads))
    let a = [Float](repeating: 0.5, count: m * k), b = [Float](repeating: 0.25, count: k * n)
    var c = [Float](repeating: 0, count: m * n)
    var best = Double.infinity, bestCPU = Double.infinity
    for _ in 0...reps {
        let t0 = now(), c0 = cpuNow()
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k), 1, a, Int32(k), b, Int32(n), 0, &c, Int32(n))
        best = min(best, now() - t0)
        bestCPU = min(bestCPU, cpuNow() - c0)
    }
    let flops = 2 * Double(m) * Double(n) * Double(k)
    return (flops / best / 1e9, flops / bestCPU / 1e9)
}

func sgemmRate(m: Int, n: Int, k: Int, threads: Int, reps: Int) -> Double {
    sgemmRates(m: m, n: n, k: k, threads: threads, reps: reps).wall
}

func seedLayers() -> [LayerSpec] {
    [
        .conv2D(filters: 32, kernelSize: (3, 3), padding: .same, activation: .relu, kernelConstraint: .maxNorm(3)),
        .dropout(rate: 0.2),
        .conv2D(filters: 32, kernelSize: (3, 3), padding: .same, activation: .relu, kernelConstraint: .maxNorm(3)),
        .maxPooling2D(poolSize: (2, 2)),
        .flatten,
        .dense(units: 512, activation: .relu, kernelConstraint: .maxNorm(3)),
        .dropout(rate: 0.5),
        .dense(units: 39, activation: .sigmoid),
    ]
}

/// Training FLOPs per sample of the seed model at side s: forward, dW, and dX except for the first conv.
func trainingFlops(side s: Int) -> Double {
    let pixels = Double(s * s)
    let conv1 = 2 * pixels * 27 * 32, conv2 = 2 * pixels * 288 * 32
    let dense1 = 2 * Double((s / 2) * (s / 2) * 32) * 512, dense2 = 2.0 * 512 * 39
    return 3 * (conv1 + conv2 + dense1 + dense2) - conv1
}

/// Trains `batches` batches of 32 random samples at side×side×3; returns the wall-clock and
/// the CPU seconds (all threads) per sample over all batches but the first (warm-up: page
/// faults, workspaces).
func secondsPerSample(side: Int, batches: Int) throws -> (wall: Double, cpu: Double) {
    let n = 32 * batches
    let model = try Sequential(inputShape: [side, side, 3], layers: seedLayers(), seed: 1)
    model.threadCount = threads
    let lr: Float = 0.001
    try model.compile(optimizer: .sgd(learningRate: lr, momentum: 0.9, decay: lr / 5), loss: .binaryCrossentropy())
    var x = [Float](repeating: 0, count: n * side * side * 3)
    var state: UInt64 = 12345
    for i in x.indices {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        x[i] = Float(state >> 40) / 16_777_216
    }
    let y = (0..<(n * 39)).map { UInt8(($0 * 7919) % 5 == 0 ? 1 : 0) }
    var stamps: [Double] = [], cpuStamps: [Double] = []
    let start = now()
    _ = try x.withUnsafeBufferPointer { xp in
        try y.withMatrixView(rows: n, columns: 39) { yv in
            try model.fit(LabeledData(x: xp, shape: [n, side, side, 3], y: yv), epochs: 1, batchSize: 32, seed: 1,
                          onBatchEnd: { _ in
                              stamps.append(now())
                              cpuStamps.append(cpuNow())
                              return false
                          })
        }
    }
    _ = start
    let samples = Double(32 * (batches - 1))
    return ((stamps.last! - stamps.first!) / samples, (cpuStamps.last! - cpuStamps.first!) / samples)
}

func fmt(_ v: Double, _ digits: Int = 1) -> String {
    var p = 1.0
    for _ in 0..<digits { p *= 10 }
    let r = (v * p).rounded() / p
    return "\(r)"
}

print("TallyNet trainer benchmark (release, \(threads) threads)")
print(Backend.current)
// The second core of these VMs is unreliable and other work may share the machine: the
// peak is the best of several tries before and after training, and the floor uses it.
let peakBefore = sgemmRate(m: 2048, n: 2048, k: 2048, threads: threads, reps: 6)
let one = sgemmRates(m: 2048, n: 2048, k: 2048, threads: 1, reps: 3)
print("SGEMM 2048³ before training: \(fmt(peakBefore)) GFLOP/s on \(threads) threads, \(fmt(one.wall)) on 1 (\(fmt(one.cpu)) per CPU second)")
let sides = CommandLine.arguments.dropFirst(2).compactMap { Int($0) }
let batchesOverride = getenv("TRAINER_BATCHES").flatMap { Int(String(cString: $0)) }
let trainerOnly = getenv("TRAINER_ONLY") != nil
let runs = (sides.isEmpty ? [64, 204] : sides).map { ($0, batchesOverride ?? ($0 > 100 ? 4 : 8)) }
var results: [(side: Int, batches: Int, wall: Double, cpu: Double, rss: Double)] = []
for (side, batches) in runs {
    resetPeakRSS()
    let (wall, cpu) = try secondsPerSample(side: side, batches: batches)
    results.append((side, batches, wall, cpu, peakRSSMiB()))
}
let peakAfter = trainerOnly ? peakBefore : sgemmRate(m: 2048, n: 2048, k: 2048, threads: threads, reps: 6)
let peak = max(peakBefore, peakAfter)
print("SGEMM 2048³ after training: \(fmt(peakAfter)) GFLOP/s; peak used for the floor: \(fmt(peak)) GFLOP/s")
for r in results {
    let flops = trainingFlops(side: r.side)
    let floor = flops / (peak * 1e9)
    print("""
    \(r.side)×\(r.side)×3, batch 32: \(fmt(r.wall * 1e3, 2)) ms per training sample, \
    \(fmt(r.wall * 1269, 1)) s per 1269-sample epoch (extrapolated from \(r.batches - 1) timed batches after 1 warm-up); \
    \(fmt(flops / 1e9, 3)) GFLOP/sample → floor \(fmt(floor * 1e3, 2)) ms at the peak, ratio \(fmt(r.wall / floor, 2))×; \
    CPU \(fmt(r.cpu * 1e3, 2)) ms/sample summed over threads, \(fmt(r.cpu / (flops / (one.cpu * 1e9)), 2))× the CPU time of its FLOPs at one core's SGEMM rate; \
    peak RSS \(fmt(r.rss, 0)) MiB
    """)
}
if trainerOnly { exit(0) }
let conv2Shape = sgemmRate(m: 455, n: 32, k: 288, threads: 1, reps: 200)
let denseShape = sgemmRate(m: 32, n: 512, k: 332_928, threads: threads, reps: 2)
print("SGEMM seed shapes: conv2 block 455×32×288 (1 thread) \(fmt(conv2Shape)), dense forward 32×512×332928 (\(threads) threads) \(fmt(denseShape)) GFLOP/s")

/// One thread's share of the seed's Dense layer (32 × 512, half of its 332928 kernel rows,
/// streaming from memory), forward and dX, as the layer runs them: BLIS over blocks of 1024
/// rows, and TallyNet's own loops (dense.c) where the CPU has them. Best of `reps`, GFLOP/s.
func denseRates(reps: Int) -> (blisForward: Double, blisInput: Double, ownForward: Double?, ownInput: Double?) {
    bli_thread_set_num_threads(1)
    let (m, u, rows, ld) = (32, 512, 166_464, 332_928)
    let x = [Float](repeating: 0.25, count: m * ld), dy = [Float](repeating: 0.5, count: m * u)
    let w = (0..<(rows * u)).map { Float($0 % 7) * 0.01 }
    var c = [Float](repeating: 0, count: m * u), dx = [Float](repeating: 0, count: m * ld)
    var packed = [Float](repeating: 0, count: u * m)
    tk_dense_pack_gradient(dy, m, u, &packed)
    let flops = 2 * Double(m * u) * Double(rows)
    func best(_ body: () -> Void) -> Double {
        var t = Double.infinity
        for _ in 0..<reps {
            let t0 = now()
            body()
            t = min(t, now() - t0)
        }
        return flops / t / 1e9
    }
    let blisForward = best {
        for r0 in stride(from: 0, to: rows, by: 1024) {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(u), Int32(min(1024, rows - r0)), 1,
                        x.withUnsafeBufferPointer { $0.baseAddress! + r0 }, Int32(ld),
                        w.withUnsafeBufferPointer { $0.baseAddress! + r0 * u }, Int32(u), r0 == 0 ? 0 : 1, &c, Int32(u))
        }
    }
    let blisInput = best {
        for r0 in stride(from: 0, to: rows, by: 1024) {
            dx.withUnsafeMutableBufferPointer { d in
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(m), Int32(min(1024, rows - r0)), Int32(u), 1,
                            dy, Int32(u), w.withUnsafeBufferPointer { $0.baseAddress! + r0 * u }, Int32(u), 0,
                            d.baseAddress! + r0, Int32(ld))
            }
        }
    }
    guard tk_own_kernels_available() != 0 else { return (blisForward, blisInput, nil, nil) }
    let ownForward = best { tk_dense_forward(x, ld, w, rows, u, m, &c, 0) }
    let ownInput = best {
        for r0 in stride(from: 0, to: rows, by: 1024) {
            dx.withUnsafeMutableBufferPointer { d in
                tk_dense_input_grad(packed, m, u, w.withUnsafeBufferPointer { $0.baseAddress! + r0 * u },
                                    min(1024, rows - r0), d.baseAddress! + r0, ld)
            }
        }
    }
    return (blisForward, blisInput, ownForward, ownInput)
}
let dense = denseRates(reps: 3)
print("Dense 332928→512 at batch 32, one thread, half the kernel: forward BLIS \(fmt(dense.blisForward))"
      + (dense.ownForward.map { ", TallyNet loops \(fmt($0))" } ?? "")
      + "; dX BLIS \(fmt(dense.blisInput))" + (dense.ownInput.map { ", TallyNet loops \(fmt($0))" } ?? "")
      + " GFLOP/s (in use: \(Backend.current.ownKernels))")
