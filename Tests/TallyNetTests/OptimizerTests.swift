import XCTest
@testable import TallyNet

/// Optimizer steps against hand-computed values (Keras's update rules).
final class OptimizerTests: XCTestCase {
    /// Runs `gradients.count` steps on a parameter starting at `start`, writing each
    /// gradient through the target the optimizer chose, as a layer would.
    func run(_ spec: OptimizerSpec, start: [Float], shape: [Int]? = nil, constraint: KernelConstraint? = nil,
             gradients: [[Float]]) -> [[Float]] {
        let p = Parameter(name: "w", shape: shape ?? [start.count], constraint: constraint)
        p.value.base.update(from: start, count: start.count)
        let optimizer = Optimizer(spec: spec, parameters: [p])
        optimizer.threads = 2
        var trajectory: [[Float]] = []
        for g in gradients {
            optimizer.beginStep()
            let t = p.target
            for i in 0..<p.count { t.pointer[i] = t.alpha * g[i] + t.beta * t.pointer[i] }
            optimizer.finishStep()
            trajectory.append(Array(p.value.buffer))
        }
        return trajectory
    }

    func assertClose(_ a: [[Float]], _ b: [[Double]], accuracy: Double = 1e-6, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, file: file, line: line)
        for (x, y) in zip(a, b) {
            for (u, v) in zip(x, y) { XCTAssertEqual(Double(u), v, accuracy: accuracy, file: file, line: line) }
        }
    }

    func testPlainSGD() {
        // w -= 0.1 · g
        assertClose(run(.sgd(learningRate: 0.1), start: [1, -2], gradients: [[0.5, -1], [0.5, 2]]),
                    [[0.95, -1.9], [0.9, -2.1]])
    }

    func testSGDMomentum() {
        // v = 0.9 v - 0.1 g; w += v: v1 = -0.05, w1 = 0.95; v2 = -0.095, w2 = 0.855; v3 = -0.0855 + 0.1 = 0.0145
        assertClose(run(.sgd(learningRate: 0.1, momentum: 0.9), start: [1], gradients: [[0.5], [0.5], [-1]]),
                    [[0.95], [0.855], [0.8695]])
    }

    func testSGDNesterov() {
        // v1 = -0.05, w1 = 1 + 0.9·(-0.05) - 0.05 = 0.905; v2 = -0.095, w2 = 0.905 - 0.0855 - 0.05 = 0.7695
        assertClose(run(.sgd(learningRate: 0.1, momentum: 0.9, nesterov: true), start: [1], gradients: [[0.5], [0.5]]),
                    [[0.905], [0.7695]])
    }

    func testSGDTimeBasedDecay() {
        // lr_t = 0.1 / (1 + 0.5 t), t = 0, 1, 2: steps of 0.1, 0.0666…, 0.05 with g = 1
        assertClose(run(.sgd(learningRate: 0.1, decay: 0.5), start: [1], gradients: [[1], [1], [1]]),
                    [[0.9], [0.9 - 0.1 / 1.5], [0.9 - 0.1 / 1.5 - 0.05]])
        // With momentum: v1 = -0.1, w1 = 0.9; v2 = -0.09 - 0.0666… = -0.156667, w2 = 0.743333
        assertClose(run(.sgd(learningRate: 0.1, momentum: 0.9, decay: 0.5), start: [1], gradients: [[1], [1]]),
                    [[0.9], [0.9 - 0.09 - 0.1 / 1.5]])
    }

    func testAdam() {
        // Keras 3: m = 0.1 g, v = 0.001 g², alpha = lr·√(1-β2)/(1-β1); w -= m·alpha / (√v + 1e-7)
        // Step 1, g = 0.5, lr = 0.1: m = 0.05, v = 0.00025, alpha = 0.0316228, step = 0.0999994
        let steps = run(.adam(learningRate: 0.1), start: [1], gradients: [[0.5], [-0.25], [1]])
        XCTAssertEqual(Double(steps[0][0]), 1 - 0.05 * (0.1 * 0.001.squareRoot() / 0.1) / (0.00025.squareRoot() + 1e-7), accuracy: 1e-6)
        // Reference in Double for the later steps.
        var w = 1.0, m = 0.0, v = 0.0
        var expected: [[Double]] = []
        for (t, g) in [0.5, -0.25, 1].enumerated() {
            m += (g - m) * 0.1
            v += (g * g - v) * 0.001
            let alpha = 0.1 * (1 - pow(0.999, Double(t + 1))).squareRoot() / (1 - pow(0.9, Double(t + 1)))
            w -= m * alpha / (v.squareRoot() + 1e-7)
            expected.append([w])
        }
        assertClose(steps, expected, accuracy: 2e-6)
    }

    func testMaxNormPerOutputUnitAfterTheUpdate() {
        // Dense kernel (in 2, out 2) = [[3, 0], [4, 1]]: column norms 5 and 1; max 2 scales column 0
        // by 2 / (5 + 1e-7); column 1 (norm 1) is multiplied by 1 / (1 + 1e-7), as Keras does.
        let out = run(.sgd(learningRate: 0), start: [3, 0, 4, 1], shape: [2, 2], constraint: .maxNorm(2), gradients: [[0, 0, 0, 0]])
        assertClose(out, [[1.2, 0, 1.6, 1]])
        // Applied after the update: w = [3, 0, 4, 1] - 1·[-3, 0, -4, 0] = [6, 0, 8, 1] → [1.2, 0, 1.6, 1]
        let after = run(.sgd(learningRate: 1), start: [3, 0, 4, 1], shape: [2, 2], constraint: .maxNorm(2),
                        gradients: [[-3, 0, -4, 0]])
        assertClose(after, [[1.2, 0, 1.6, 1]])
    }

    func testMaxNormOverChosenAxes() {
        // Conv kernel (kh 2, kw 1, cin 1, cout 2) with Keras's default axis=0: norms over kh only.
        // Same result as all-but-last here; (2, 1, 2, 1) with axes [0] groups (kw, cin, cout) = 2 norms.
        let start: [Float] = [3, 0, 4, 2]  // [i][c]: i=0 → (3, 0), i=1 → (4, 2)
        let out = run(.sgd(learningRate: 0), start: start, shape: [2, 1, 2, 1], constraint: .maxNorm(1, axes: [0]),
                      gradients: [[0, 0, 0, 0]])
        // Column c=0: (3, 4) norm 5 → ×1/5; c=1: (0, 2) norm 2 → ×1/2.
        assertClose(out, [[0.6, 0, 0.8, 1]])
    }
}
