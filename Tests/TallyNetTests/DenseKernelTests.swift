@testable import TallyNet
internal import TallyNetKernels
import XCTest

/// TallyNet's own Dense loops (dense.c) against float64 sums, on every tile and tail they
/// have: batch rows in groups of 8/4/2/1 (forward) and 32/16 (dX), columns in panels of 48
/// with a masked last vector, kernel rows in chunks of 64 (forward) and tiles of 12/4/1 (dX),
/// row strides wider than the rows, and the output's neighbours left untouched.
final class DenseKernelTests: XCTestCase {
    override func setUpWithError() throws {
        try XCTSkipUnless(tk_dense_available() != 0, "this CPU has no AVX-512F+FMA: Dense runs on BLIS")
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
                        var sum = accumulate ? Double(start[i * n + j]) : 0, size = abs(sum)
                        for q in 0..<k {
                            let t = Double(x[i * lda + q]) * Double(w[q * n + j])
                            sum += t
                            size += abs(t)
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
                    var sum = 0.0, size = 0.0
                    for j in 0..<u {
                        let t = Double(dy[i * u + j]) * Double(w[r * u + j])
                        sum += t
                        size += abs(t)
                    }
                    XCTAssertEqual(Double(dx[i * ldc + r]), sum, accuracy: 1e-6 * max(size, 1),
                                   "m \(m) u \(u) k \(k) at (\(i), \(r))")
                }
            }
        }
    }

    func testMomentumRowsEqualFloat64Steps() {
        // Rows in tiles of 3 and 1, columns in segments of 128 with masked vectors, with and
        // without pending max-norm factors and column sums; rows outside the range untouched.
        for (m, u, rows) in [(32, 512, 7), (1, 1, 1), (5, 17, 4), (21, 39, 3), (33, 129, 5), (8, 300, 2)] {
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
                        var g = 0.0, size = 0.0
                        for i in 0..<m {
                            let t = Double(x[i * lda + r]) * Double(dy[i * u + j])
                            g += t
                            size += abs(t)
                        }
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
}
