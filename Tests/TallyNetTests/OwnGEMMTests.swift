@testable import TallyNet
internal import TallyNetKernels
import XCTest

/// TallyNet's own GEMM loops against float64 sums, on every tile and tail they have. Dense
/// (dense.c): batch rows in groups of 8/4/2/1 (forward) and 32/16 (dX), columns in panels of
/// 48 (forward) or 128 (momentum step) with masked vectors, kernel rows in chunks of 64
/// (forward) and tiles of 12/4/1 (dX) or 3/1 (momentum), row strides wider than the rows, and
/// the output's neighbours left untouched. Winograd blocks and a convolution's stacked rows
/// (products.c): tiles in groups of 12/4/1 (12/4/3/1 for dW), channels in panels of 32 with
/// masked vectors, rows that overlap, bias and relu applied as tiles are stored.
final class OwnGEMMTests: XCTestCase {
    /// Σ term(q) for q < count after `start`, in float64, and Σ |term| (with |start|): the scale of
    /// the float32 rounding the loops may differ by.
    private func float64Sum(start: Double = 0, _ count: Int, _ term: (Int) -> Double) -> (Double, Double) {
        var sum = start, size = abs(start)
        for q in 0..<count {
            let t = term(q)
            sum += t
            size += abs(t)
        }
        return (sum, size)
    }

    override func setUpWithError() throws {
        try XCTSkipUnless(tk_own_kernels_available() != 0, "this CPU has no AVX-512F+FMA: Dense runs on BLIS")
    }

    func testForwardEqualsFloat64Sums() {
        for (m, n, k) in [(32, 512, 300), (1, 1, 1), (3, 17, 65), (7, 15, 64), (8, 16, 63), (9, 47, 129),
                          (21, 49, 200), (33, 39, 7), (64, 100, 1), (5, 96, 0), (2, 145, 190)] {
            for accumulate in [false, true] {
                let lda = k + 5
                let x = randomFloats(m * lda, seed: UInt64(m * 1000 + k))
                let w = randomFloats(k * n, seed: UInt64(n * 7 + k))
                let start = randomFloats(m * n, seed: 3)
                var c = start
                tk_dense_forward(x, lda, w, k, n, m, &c, accumulate ? 1 : 0)
                for i in 0..<m {
                    for j in 0..<n {
                        let (sum, size) = float64Sum(start: accumulate ? Double(start[i * n + j]) : 0, k) { q in
                            Double(x[i * lda + q]) * Double(w[q * n + j])
                        }
                        XCTAssertEqual(Double(c[i * n + j]), sum, accuracy: 1e-6 * max(size, 1),
                                       "m \(m) n \(n) k \(k) accumulate \(accumulate) at (\(i), \(j))")
                    }
                }
            }
        }
    }

    func testInputGradientEqualsFloat64Sums() {
        for (m, u, k) in [(32, 512, 30), (1, 1, 1), (16, 3, 13), (17, 40, 12), (31, 39, 25), (32, 16, 4),
                          (33, 20, 17), (70, 9, 5), (5, 100, 1)] {
            let ldc = k + 3
            let dy = randomFloats(m * u, seed: UInt64(m * 31 + u))
            let w = randomFloats(k * u, seed: UInt64(k * 17 + u))
            let width = (m + 15) / 16 * 16
            var packed = [Float](repeating: .nan, count: u * width)
            tk_dense_pack_gradient(dy, m, u, &packed)
            let sentinel: Float = 12345
            var dx = [Float](repeating: sentinel, count: m * ldc)
            tk_dense_input_grad(packed, m, u, w, k, &dx, ldc)
            for i in 0..<m {
                for r in 0..<ldc {
                    guard r < k else {
                        XCTAssertEqual(dx[i * ldc + r], sentinel, "wrote past the block: m \(m) u \(u) k \(k)")
                        continue
                    }
                    let (sum, size) = float64Sum(u) { j in Double(dy[i * u + j]) * Double(w[r * u + j]) }
                    XCTAssertEqual(Double(dx[i * ldc + r]), sum, accuracy: 1e-6 * max(size, 1),
                                   "m \(m) u \(u) k \(k) at (\(i), \(r))")
                }
            }
        }
    }

    func testMomentumRowsEqualFloat64Steps() {
        // Rows in tiles of 3 and 1, columns in segments of 128 with masked vectors, with and
        // without pending max-norm factors and column sums; rows outside the range untouched.
        // More than 24 rows: blocks of 24 walked segment by segment, each tile asking for the
        // rows a block ahead (whole segments only), and a last block of 3s and 1s.
        for (m, u, rows) in [(32, 512, 7), (1, 1, 1), (5, 17, 4), (21, 39, 3), (33, 129, 5), (8, 300, 2),
                             (32, 512, 53), (24, 300, 50), (7, 128, 27)] {
            for (withScale, withSums) in [(false, false), (true, true), (false, true)] {
                let lda = rows + 4
                let x = randomFloats(m * lda, seed: UInt64(m + 3 * rows))
                let dy = randomFloats(m * u, seed: UInt64(u + 11))
                let w0 = randomFloats((rows + 1) * u, seed: 5), v0 = randomFloats((rows + 1) * u, seed: 6)
                let scale = randomFloats(u, seed: 7, in: 0.5...1)
                let sums0 = randomFloats(u, seed: 8, in: 0...1)
                var w = w0, v = v0, sums = sums0
                let (alpha, beta): (Float, Float) = (-0.01, 0.9)
                scale.withUnsafeBufferPointer { sc in
                    sums.withUnsafeMutableBufferPointer { sm in
                        tk_dense_momentum_rows(x, lda, dy, m, u, rows, alpha, beta, &w, &v,
                                               withScale ? sc.baseAddress : nil, withSums ? sm.baseAddress : nil)
                    }
                }
                var expectedSums = sums0.map(Double.init)
                for r in 0..<rows {
                    for j in 0..<u {
                        let (g, size) = float64Sum(m) { i in Double(x[i * lda + r]) * Double(dy[i * u + j]) }
                        let vNew = Double(alpha) * g + Double(beta) * Double(v0[r * u + j])
                        let wNew = Double(w0[r * u + j]) * (withScale ? Double(scale[j]) : 1) + vNew
                        let where_ = "m \(m) u \(u) rows \(rows) at (\(r), \(j))"
                        XCTAssertEqual(Double(v[r * u + j]), vNew, accuracy: 1e-6 * (1 + size), where_)
                        XCTAssertEqual(Double(w[r * u + j]), wNew, accuracy: 1e-6 * (2 + size), where_)
                        expectedSums[j] += Double(w[r * u + j]) * Double(w[r * u + j])
                    }
                }
                for j in 0..<u {
                    XCTAssertEqual(Double(sums[j]), withSums ? expectedSums[j] : Double(sums0[j]), accuracy: 1e-5 * (1 + expectedSums[j]))
                }
                // The row after the range is untouched.
                XCTAssertEqual(Array(w[(rows * u)...]), Array(w0[(rows * u)...]))
                XCTAssertEqual(Array(v[(rows * u)...]), Array(v0[(rows * u)...]))
            }
        }
    }

    /// 36 (rows × cols) matrices `stride` floats apart, seeded, with NaN in the gaps between them.
    private func elements(rows: Int, cols: Int, stride: Int, seed: UInt64) -> [Float] {
        var out = [Float](repeating: .nan, count: 36 * stride)
        let values = randomFloats(36 * rows * cols, seed: seed)
        for e in 0..<36 { for i in 0..<(rows * cols) { out[e * stride + i] = values[e * rows * cols + i] } }
        return out
    }

    func testWinogradProductsEqualFloat64Sums() {
        for (n, k, cols) in [(128, 32, 32), (1, 8, 8), (13, 16, 24), (17, 40, 48), (5, 32, 64), (29, 24, 72), (4, 3, 5)] {
            let (aStride, cStride) = (n * k + 16, n * cols + 16)
            let a = elements(rows: n, cols: k, stride: aStride, seed: UInt64(n + k))
            let b = randomFloats(36 * k * cols, seed: UInt64(cols))
            let sentinel: Float = 777
            var c = [Float](repeating: sentinel, count: 36 * cStride)
            tk_wino_products(a, aStride, b, n, k, cols, &c, cStride)
            for e in 0..<36 {
                for i in 0..<n {
                    for j in 0..<cols {
                        let (sum, size) = float64Sum(k) { q in
                            Double(a[e * aStride + i * k + q]) * Double(b[e * k * cols + q * cols + j])
                        }
                        XCTAssertEqual(Double(c[e * cStride + i * cols + j]), sum, accuracy: 1e-6 * max(size, 1),
                                       "n \(n) k \(k) cols \(cols) element \(e) at (\(i), \(j))")
                    }
                }
                for gap in (n * cols)..<cStride { XCTAssertEqual(c[e * cStride + gap], sentinel, "wrote past element \(e)") }
            }
        }
    }

    func testWinogradKernelProductsAddFloat64Sums() {
        for (n, k, cols) in [(128, 32, 32), (1, 8, 8), (13, 16, 24), (17, 40, 48), (5, 32, 64), (29, 13, 72), (4, 3, 5)] {
            let (aStride, gStride) = (n * k + 16, n * cols + 16)
            let a = elements(rows: n, cols: k, stride: aStride, seed: UInt64(3 * n + k))
            let g = elements(rows: n, cols: cols, stride: gStride, seed: UInt64(5 * cols))
            let start = randomFloats(36 * k * cols, seed: 9)
            var d = start
            tk_wino_kernel_products(a, aStride, g, gStride, n, k, cols, &d)
            for e in 0..<36 {
                for q in 0..<k {
                    for j in 0..<cols {
                        let (sum, size) = float64Sum(start: Double(start[e * k * cols + q * cols + j]), n) { t in
                            Double(a[e * aStride + t * k + q]) * Double(g[e * gStride + t * cols + j])
                        }
                        XCTAssertEqual(Double(d[e * k * cols + q * cols + j]), sum, accuracy: 1e-6 * max(size, 1),
                                       "n \(n) k \(k) cols \(cols) element \(e) at (\(q), \(j))")
                    }
                }
            }
        }
    }

    func testConvRowsEqualFloat64Sums() {
        // Rows `lda` apart that overlap (the stacked rows of an RGB image: lda 9, k 27) or leave
        // gaps; with and without bias and relu; rows in tiles of 12/4/1, columns in panels of 32.
        for (n, k, cols, lda) in [(30, 27, 32, 9), (1, 1, 1, 1), (13, 27, 33, 9), (17, 5, 40, 7), (4, 12, 16, 12),
                                  (25, 32, 64, 40), (11, 3, 7, 1)] {
            let a = randomFloats((n - 1) * lda + k, seed: UInt64(n * 13 + k))
            let b = randomFloats(k * cols, seed: UInt64(cols * 3 + k))
            let bias = randomFloats(cols, seed: 17)
            for (withBias, relu) in [(false, false), (true, true), (true, false), (false, true)] {
                let sentinel: Float = 555
                var c = [Float](repeating: sentinel, count: (n + 1) * cols)
                bias.withUnsafeBufferPointer { bp in
                    tk_conv_rows(a, lda, k, b, cols, n, &c, withBias ? bp.baseAddress : nil, relu ? 1 : 0)
                }
                for i in 0..<n {
                    for j in 0..<cols {
                        var (sum, size) = float64Sum(start: withBias ? Double(bias[j]) : 0, k) { q in
                            Double(a[i * lda + q]) * Double(b[q * cols + j])
                        }
                        if relu { sum = max(sum, 0) }
                        size = max(size, 1)
                        XCTAssertEqual(Double(c[i * cols + j]), sum, accuracy: 1e-6 * size,
                                       "n \(n) k \(k) cols \(cols) lda \(lda) bias \(withBias) relu \(relu) at (\(i), \(j))")
                        if relu { XCTAssertGreaterThanOrEqual(c[i * cols + j], 0) }
                    }
                }
                for j in 0..<cols { XCTAssertEqual(c[n * cols + j], sentinel, "wrote past row \(n - 1)") }
            }
        }
    }

    func testConvKernelRowsAddFloat64Sums() {
        // d += aᵀ·g over rows `lda` apart (overlapping as the stacked rows are), kernel inputs in
        // tiles of 12/4/3/1 (27 = 12 + 12 + 3).
        for (n, k, cols, lda) in [(200, 27, 32, 9), (1, 1, 1, 1), (31, 27, 40, 9), (9, 3, 16, 3), (17, 32, 33, 32),
                                  (6, 7, 5, 11), (40, 16, 64, 4)] {
            let a = randomFloats((n - 1) * lda + k, seed: UInt64(n * 7 + k))
            let g = randomFloats(n * cols, seed: UInt64(cols * 11 + n))
            let start = randomFloats(k * cols, seed: 19)
            var d = start
            tk_conv_kernel_rows(a, lda, g, n, k, cols, &d)
            for q in 0..<k {
                for j in 0..<cols {
                    let (sum, size) = float64Sum(start: Double(start[q * cols + j]), n) { t in
                        Double(a[t * lda + q]) * Double(g[t * cols + j])
                    }
                    XCTAssertEqual(Double(d[q * cols + j]), sum, accuracy: 1e-6 * max(size, 1),
                                   "n \(n) k \(k) cols \(cols) lda \(lda) at (\(q), \(j))")
                }
            }
        }
    }

    func testStackedConvolutionOnOwnTilesMatchesBLIS() throws {
        // An RGB image's convolution (stacked rows, k = 27) with its GEMMs on the own tiles and on
        // BLIS: y, dx, dW, db agree to float32 rounding. Bias and relu fused into the store,
        // linear without bias, sigmoid (own GEMM, then the activation pass) and a fused 2×2 pooling.
        for (activation, useBias, pool) in [(Activation.relu, true, false), (.linear, false, false), (.sigmoid, true, false),
                                            (.relu, true, true)] {
            let shape = [10, 12, 3]
            var results: [[[Float]]] = []
            for own in [true, false] {
                let spec = LayerSpec.conv2D(filters: 32, kernelSize: (3, 3), padding: .same, activation: activation, useBias: useBias)
                let conv = try makeLayer(spec, inputShape: shape) as! Conv2D
                XCTAssertTrue(conv.stacksRows)
                conv.stackedOwnProducts = own
                XCTAssertEqual(conv.stackedRowsOnOwnTiles, own)
                if pool {
                    conv.fusedPool = MaxPooling2D(name: "pool", inputShape: conv.outputShape, poolSize: (2, 2), strides: (2, 2),
                                                  padding: .valid)
                    conv.reserveFusedPool(batch: 3)
                }
                conv.reserve(threads: 2)
                results.append(forwardBackward(conv, x: randomFloats(3 * conv.inputCount, seed: 8), batch: 3, threads: 2,
                                               outputCount: conv.fusedPool?.outputCount))
            }
            assertTensorsClose(results, tolerance: 1e-5, "\(activation) pool \(pool),")
        }
    }
}
