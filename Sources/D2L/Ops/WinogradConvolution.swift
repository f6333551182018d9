/// Stride-1 3×3 and 5×5 convolutions by Winograd's minimal filtering F(m×m, r×r), forward and
/// backward, with every step a GEMM: the products in the transformed domain as one GEMM per
/// tile position, and the transforms as products with Kronecker matrices.
///
/// Shapes as `conv2d`: x (N, C, H, W), weight (K, C, r, r), y (N, K, OH, OW), groups 1; the
/// code is written for any F(m×m, r×r), and `WinogradPlan.choose` picks r = 3 and r = 5.
/// The output is cut into m×m tiles (tilesH × tilesW per image, the last ones overhanging);
/// tile t reads the α×α input patch D_t starting at (ty·m − ph, tx·m − pw), zeros outside.
/// With U = G·W[k,c]·Gᵀ and V = Bᵀ·D_t[c]·B (both α×α), every position ξ of the α×α grid is
/// a matrix product over channels,
///   M_ξ (K × T) = U_ξ (K × C) · V_ξ (C × T),
/// and Y_t[k] = Aᵀ·M[k, t]·A. That is α² multiplications per m² outputs and channel pair
/// instead of r²·m²: for F(4×4, 3×3) 36 instead of 144.
///
/// Backward is the exact adjoint of these steps (not another convolution):
///   ∂M[k,t] = A·∂Y_t[k]·Aᵀ,  ∂U_ξ = ∂M_ξ · V_ξᵀ,  ∂W[k,c] = Gᵀ·∂U[k,c]·G,
///   ∂V_ξ = U_ξᵀ · ∂M_ξ,  ∂D_t[c] = B·∂V[c,t]·Bᵀ, added onto the pixels of the patch.
/// The two-sided transforms X·T·Xᵀ of all tiles at once are one product with X ⊗ X
/// (`WinogradMatrices`): e.g. V (α² × C·T) = (Bᵀ ⊗ Bᵀ) · D (α² × C·T), D holding the patches
/// flattened row by row. That costs more multiplications than applying X on both sides, but
/// runs at sgemm's speed rather than that of scalar loops over 4×4 … 7×7 matrices, which
/// measured slower than the whole im2col convolution.
/// Like `conv2d`, each worker takes a contiguous range of images in chunks (T = tiles of a
/// chunk) and calls single-threaded sgemm; V is recomputed in backward rather than kept.
/// Only the products with the weights (U, ∂W) are split over the workers as a whole.
struct WinogradPlan {
    let matrices: WinogradMatrices
    let geometry: ConvGeometry
    let outChannels: Int
    let tilesH: Int, tilesW: Int
    let imagesPerChunk: Int

    var m: Int { matrices.m }
    var alpha: Int { matrices.alpha }
    var positions: Int { alpha * alpha }
    var tilesPerImage: Int { tilesH * tilesW }
    var channels: Int { geometry.channels }
    var maxTiles: Int { imagesPerChunk * tilesPerImage }

    /// For 3×3 kernels F(4×4, 3×3), F(3×3, 3×3) or F(2×2, 3×3), for 5×5 kernels F(3×3, 5×5) or
    /// F(2×2, 5×5): of those that give enough tiles per worker for wide GEMMs, the one that needs
    /// the fewest products by the cost model below; or nil when im2col is the better choice:
    /// strided, grouped or other kernels, few channels (the transforms then cost more than they
    /// save), maps under 3×3. F(3×3, 3×3) covers the 3×3 and 6×6 maps of the networks at 96 px
    /// exactly, where F(4×4, ·) and F(2×2, ·) tiles overhang or are small.
    /// `Benchmarks --conv` times each chapter layer both ways (forward + backward); the rules
    /// above follow where Winograd came out ahead there.
    static func choose(_ g: ConvGeometry, outChannels: Int, groups: Int, imagesPerWorker: Int) -> WinogradPlan? {
        guard Winograd.enabled, groups == 1, g.strideH == 1, g.strideW == 1, g.kernelH == g.kernelW,
              g.kernelH == 3 || g.kernelH == 5,
              g.channels >= 8, outChannels >= 16, g.outH >= 3, g.outW >= 3 else { return nil }
        let tileSizes = g.kernelH == 3 ? [2, 3, 4] : [2, 3]
        // Multiply-adds per image of forward pass, all of them in GEMMs: im2col's C·K per live
        // tap and output pixel, against Winograd's products per tile (the transformed-domain
        // product, the input and output transforms) and the filter transform, which is done
        // once per batch. Winograd's small GEMMs run somewhat slower, hence the margin.
        let c = Double(g.channels), k = Double(outChannels), r2 = Double(g.kernelH * g.kernelW)
        let direct = Double(g.outPixels * g.taps.count) * c * k
        let candidates = tileSizes.map { m -> (m: Int, cost: Double, columns: Int) in
            let a2 = Double((m + g.kernelH - 1) * (m + g.kernelH - 1))
            let tiles = ((g.outH + m - 1) / m) * ((g.outW + m - 1) / m)
            let perTile = a2 * c * k + a2 * a2 * c + Double(m * m) * a2 * k
            let filter = a2 * r2 * c * k / Double(Swift.max(imagesPerWorker * Parallel.threads, 1))
            return (m, Double(tiles) * perTile + filter, tiles * imagesPerWorker)
        }
        // Too few tiles per worker make every GEMM too narrow to run at speed.
        guard let best = candidates.filter({ $0.columns >= targetTiles }).min(by: { $0.cost < $1.cost }),
              best.cost * 1.3 < direct else { return nil }
        return WinogradPlan(WinogradMatrices.cached(m: best.m, r: g.kernelH), g, outChannels: outChannels,
                            imagesPerWorker: imagesPerWorker)
    }

    init(_ matrices: WinogradMatrices, _ g: ConvGeometry, outChannels: Int, imagesPerWorker: Int) {
        self.matrices = matrices; geometry = g; self.outChannels = outChannels
        tilesH = (g.outH + matrices.m - 1) / matrices.m
        tilesW = (g.outW + matrices.m - 1) / matrices.m
        // About `targetTiles` tiles per chunk, and at most ~32 MB of buffers per worker.
        let perImage = tilesH * tilesW, a2 = matrices.alpha * matrices.alpha, m2 = matrices.m * matrices.m
        let byWidth = (targetTiles + perImage - 1) / perImage
        let byMemory = Swift.max(1, (8 << 20) / ((a2 * (2 * g.channels + outChannels) + m2 * outChannels) * perImage))
        imagesPerChunk = Swift.max(1, Swift.min(imagesPerWorker, byWidth, byMemory))
    }
}

/// Tiles per chunk: narrow enough that a chunk's buffers stay near the caches (256 measured
/// 0.92× the im2col time where 64 gave 0.65–0.71×), wide enough for the GEMMs.
let targetTiles = 64

/// Whether stride-1 3×3 and 5×5 convolutions may use Winograd (tests and the benchmark compare).
public enum Winograd {
    nonisolated(unsafe) public static var enabled = true

    /// Whether a stride-1 convolution of this shape takes the Winograd path (with `enabled`).
    public static func isChosen(channels: Int, size: Int, outChannels: Int, kernel: Int, padding: Int, batch: Int) -> Bool {
        let g = ConvGeometry(channels: channels, height: size, width: size, kernel: (kernel, kernel),
                             stride: (1, 1), padding: (padding, padding))
        let perWorker = (batch + Parallel.threads - 1) / Parallel.threads
        return WinogradPlan.choose(g, outChannels: outChannels, groups: 1, imagesPerWorker: perWorker) != nil
    }
}

extension WinogradMatrices {
    nonisolated(unsafe) private static var cache: [Int: WinogradMatrices] = [:]
    /// Built once per (m, r); called on the thread that runs the layer, before any parallel region.
    static func cached(m: Int, r: Int) -> WinogradMatrices {
        if let hit = cache[m * 100 + r] { return hit }
        let built = WinogradMatrices(m: m, r: r)
        cache[m * 100 + r] = built
        return built
    }
}

func winogradConv2d(_ x: Tensor, weight: Tensor, bias: Tensor?, plan: WinogradPlan, workers: [Range<Int>]) -> Tensor {
    let g = plan.geometry, k = plan.outChannels, c = plan.channels, n = x.shape[0]
    let positions = plan.positions, maxT = plan.maxTiles, m2 = plan.m * plan.m
    let u = transformedWeights(weight, plan)
    var y = Tensor.uninitializedStorage(n * k * g.outPixels)   // transformOutput writes every pixel
    // Per worker: patches D (α², C·T), V (α², C·T), M (α², K·T), output tiles (m², K·T), a plane.
    let scratch = Workspace.buffers(workers: workers.count,
                                    sizes: [positions * c * maxT, positions * c * maxT, positions * k * maxT,
                                            m2 * k * maxT, plan.planeSize])
    x.data.withUnsafeBufferPointer { px in u.withUnsafeBufferPointer { pu in y.withUnsafeMutableBufferPointer { py in
        let xs = px.baseAddress!, us = pu.baseAddress!, ys = py.baseAddress!
        let bs: [Float]? = bias?.data
        Parallel.run(workers.count) { w in
            let d = scratch[w][0], v = scratch[w][1], mm = scratch[w][2], yt = scratch[w][3], plane = scratch[w][4]
            var n0 = workers[w].lowerBound
            while n0 < workers[w].upperBound {
                let imgs = Swift.min(plan.imagesPerChunk, workers[w].upperBound - n0)
                let tiles = imgs * plan.tilesPerImage
                transformInput(xs, firstImage: n0, tiles: tiles, plan, patches: d, plane: plane, into: v)
                for xi in 0..<positions {
                    sgemm(m: k, n: tiles, k: c, a: us + xi * k * c, lda: c, b: v + xi * c * tiles, ldb: tiles,
                          c: mm + xi * k * tiles, ldc: tiles)
                }
                transformOutput(mm, firstImage: n0, tiles: tiles, plan, bias: bs, tileBuffer: yt, plane: plane, into: ys)
                n0 += imgs
            }
        }
    }}}
    return convolutionResult(shape: [n, k, g.outH, g.outW], data: y, x: x, weight: weight, bias: bias) { xs, dys, dxs, inPlace, dWeight, dBias in
        winogradBackward(x: xs, dxStore: dxs, weight: weight, dWeight: dWeight, dBias: dBias, dy: dys,
                         dxOverwritesDy: inPlace, plan: plan, workers: workers)
    }
}

/// Accumulates ∂W and ∂b (into whichever of `dWeight`, `dBias` is not nil) and ∂x (into
/// `dxStore` if not nil) from ∂Y. With `dxOverwritesDy`, `dxStore` is ∂Y's buffer: a chunk's ∂x
/// is written there once its ∂Y has been transformed (and summed for ∂b).
/// ∂x needs the transformed weights U: they are computed again here, only when ∂x is wanted,
/// rather than kept from forward (α²·K·C floats: 26 MB for a 512-channel layer under
/// F(3×3, 3×3)); the transform is one small GEMM, and `SGD.backwardAndStep` changes the weights
/// only after this layer's backward.
private func winogradBackward(x: [Float], dxStore: UnsafeMutablePointer<Float>?, weight: Tensor, dWeight: GradNode?,
                              dBias: GradNode?, dy dys: UnsafePointer<Float>, dxOverwritesDy inPlace: Bool,
                              plan: WinogradPlan, workers: [Range<Int>]) {
    let g = plan.geometry, k = plan.outChannels, c = plan.channels, p = g.outPixels
    let positions = plan.positions, maxT = plan.maxTiles, m2 = plan.m * plan.m
    let needW = dWeight != nil, needB = dBias != nil
    // Per worker: patches D, V then ∂V, ∂M, ∂Y tiles, partial ∂U (α², K·C), partial ∂b, a plane.
    let scratch = Workspace.buffers(workers: workers.count,
                                    sizes: [positions * c * maxT, positions * c * maxT, positions * k * maxT,
                                            m2 * k * maxT, positions * k * c, k, plan.planeSize])
    let u = dxStore == nil ? [] : transformedWeights(weight, plan)
    x.withUnsafeBufferPointer { px in u.withUnsafeBufferPointer { pu in
        let xs = px.baseAddress!, us = pu.baseAddress   // U is empty when ∂x is not wanted
        Parallel.run(workers.count) { w in
            let d = scratch[w][0], v = scratch[w][1], dm = scratch[w][2], dyt = scratch[w][3]
            let du = scratch[w][4], db = scratch[w][5], plane = scratch[w][6]
            db.update(repeating: 0, count: k)
            var n0 = workers[w].lowerBound
            while n0 < workers[w].upperBound {
                let imgs = Swift.min(plan.imagesPerChunk, workers[w].upperBound - n0)
                let tiles = imgs * plan.tilesPerImage
                if needB {
                    for img in n0..<(n0 + imgs) { for kk in 0..<k { db[kk] += SIMDLoops.sum(dys + (img * k + kk) * p, p) } }
                }
                transformOutputGradient(dys, firstImage: n0, tiles: tiles, plan, tileBuffer: dyt, plane: plane, into: dm)
                if needW {
                    transformInput(xs, firstImage: n0, tiles: tiles, plan, patches: d, plane: plane, into: v)
                    for xi in 0..<positions {
                        // The worker's first chunk overwrites its partial ∂U, the others add to it.
                        sgemm(transB: true, m: k, n: c, k: tiles, a: dm + xi * k * tiles, lda: tiles,
                              b: v + xi * c * tiles, ldb: tiles, beta: n0 == workers[w].lowerBound ? 0 : 1,
                              c: du + xi * k * c, ldc: c)
                    }
                }
                if let dxs = dxStore, let us {
                    for xi in 0..<positions {
                        sgemm(transA: true, m: c, n: tiles, k: k, a: us + xi * k * c, lda: c,
                              b: dm + xi * k * tiles, ldb: tiles, c: v + xi * c * tiles, ldc: tiles)
                    }
                    if inPlace { SIMDLoops.zero(dxs + n0 * c * g.height * g.width, imgs * c * g.height * g.width) }
                    transformInputGradient(v, firstImage: n0, tiles: tiles, plan, patches: d, plane: plane, addingInto: dxs)
                }
                n0 += imgs
            }
        }
    }}
    // Reduce the workers' partial ∂U in a fixed order into worker 0's, then ∂W += ∂Uᵀ·(G ⊗ G).
    if let dWeight {
        let total = positions * k * c, partials = UncheckedSendable(workers.indices.map { scratch[$0][4] })
        Parallel.forRanges(total) { range in
            let parts = partials.value
            for w in 1..<Swift.max(parts.count, 1) { for i in range { parts[0][i] += parts[w][i] } }
        }
        let r2 = plan.matrices.r * plan.matrices.r
        dWeight.withGradBuffer { gw in plan.matrices.filterTransform.withUnsafeBufferPointer { f in
            parallelSgemm(transA: true, m: k * c, n: r2, k: positions, a: scratch[0][4], lda: k * c,
                          b: f.baseAddress!, ldb: r2, beta: 1, c: gw.baseAddress!, ldc: r2)
        }}
    }
    if let dBias {
        dBias.withGradBuffer { gb in
            for w in 0..<workers.count { let s = scratch[w][5]; for i in 0..<k { gb[i] += s[i] } }
        }
    }
}

/// U (α², K·C) = (G ⊗ G) · Wᵀ, W seen as (K·C) × r²: U[ξ, k·C + c] = (G·W[k, c]·Gᵀ)_ξ.
private func transformedWeights(_ weight: Tensor, _ plan: WinogradPlan) -> [Float] {
    let r2 = plan.matrices.r * plan.matrices.r, kc = plan.outChannels * plan.channels
    var u = [Float](repeating: 0, count: plan.positions * kc)
    weight.data.withUnsafeBufferPointer { w in plan.matrices.filterTransform.withUnsafeBufferPointer { f in
    u.withUnsafeMutableBufferPointer { pu in
        parallelSgemm(transB: true, m: plan.positions, n: kc, k: r2, a: f.baseAddress!, lda: r2,
                      b: w.baseAddress!, ldb: r2, c: pu.baseAddress!, ldc: kc)
    }}}
    return u
}

// MARK: - Cutting tiles out of planes and putting them back

extension WinogradPlan {
    /// The zero-padded input plane every tile's α×α patch lies in: Hp × Wp.
    var paddedHeight: Int { (tilesH - 1) * m + alpha }
    var paddedWidth: Int { (tilesW - 1) * m + alpha }
    /// The output plane the m×m tiles cover exactly: (tilesH·m) × (tilesW·m).
    var tiledHeight: Int { tilesH * m }
    var tiledWidth: Int { tilesW * m }
    /// Floats of the per-worker plane buffer (the padded input plane is the larger).
    var planeSize: Int { paddedHeight * paddedWidth }

    /// Rows and columns of the image that some patch reads (at most H × W).
    var readRows: Int { Swift.max(0, Swift.min(geometry.height, paddedHeight - geometry.padH)) }
    var readColumns: Int { Swift.max(0, Swift.min(geometry.width, paddedWidth - geometry.padW)) }
}

/// Runs `body` with the offset of every tile's corner (ty·m)·width + tx·m in a plane with row
/// length `width`, tile t = ty·tilesW + tx, and the number of tiles.
@inline(__always)
private func withTileCorners(_ plan: WinogradPlan, width: Int, _ body: (UnsafeMutableBufferPointer<Int>, Int) -> Void) {
    let m = plan.m, tw = plan.tilesW, tiles = plan.tilesH &* tw
    withUnsafeTemporaryAllocation(of: Int.self, capacity: tiles) { corners in
        for t in 0..<tiles { corners[t] = (t / tw) &* m &* width &+ (t % tw) &* m }
        body(corners, tiles)
    }
}

/// `side`-sized blocks at (ty·m + i, tx·m + j) of a plane with row length `width`, one
/// vector per (i, j) over the tiles: block[(i·side + j)·stride + ty·tilesW + tx] =
/// plane[(ty·m + i)·width + tx·m + j]. The inner loop writes contiguously, and runs over all
/// the tiles through a table of their corners: rows of tiles are only 1–8 long, so a loop per
/// row of tiles would spend much of its time on loop overhead. Tile by tile instead (36 writes
/// to vectors `stride` apart) is slower still.
@inline(__always)
private func cutTiles(_ plane: UnsafePointer<Float>, width: Int, side: Int, _ plan: WinogradPlan,
                      into block: UnsafeMutablePointer<Float>, stride: Int) {
    withTileCorners(plan, width: width) { corners, tiles in
        for i in 0..<side { for j in 0..<side {
            let dst = block + (i &* side &+ j) &* stride
            let src = plane + (i &* width &+ j)
            for t in 0..<tiles { dst[t] = src[corners[t]] }
        }}
    }
}

/// The adjoint of `cutTiles` with `accumulate`, or with overwriting (the m×m output tiles do
/// not overlap): plane[(ty·m + i)·width + tx·m + j] (+)= block[(i·side + j)·stride + t].
@inline(__always)
private func placeTiles(_ block: UnsafePointer<Float>, stride: Int, side: Int, _ plan: WinogradPlan,
                        into plane: UnsafeMutablePointer<Float>, width: Int, accumulate: Bool) {
    withTileCorners(plan, width: width) { corners, tiles in
        for i in 0..<side { for j in 0..<side {
            let src = block + (i &* side &+ j) &* stride
            let dst = plane + (i &* width &+ j)
            if accumulate {
                for t in 0..<tiles { dst[corners[t]] += src[t] }
            } else {
                for t in 0..<tiles { dst[corners[t]] = src[t] }
            }
        }}
    }
}

/// V (α², C·T) = (Bᵀ ⊗ Bᵀ) · D for the chunk's tiles, D[(i, j), c·T + t] being pixel (i, j)
/// of tile t's patch in channel c. Each image plane is first copied into the zero-padded
/// Hp × Wp `plane`, so that cutting the patches needs no bounds checks; the copies write the
/// same interior every time, so the border is zeroed once.
private func transformInput(_ x: UnsafePointer<Float>, firstImage: Int, tiles: Int, _ plan: WinogradPlan,
                            patches d: UnsafeMutablePointer<Float>, plane: UnsafeMutablePointer<Float>,
                            into v: UnsafeMutablePointer<Float>) {
    let g = plan.geometry, hw = g.height * g.width, wp = plan.paddedWidth, ct = g.channels * tiles
    let images = tiles / plan.tilesPerImage, rows = plan.readRows, cols = plan.readColumns
    SIMDLoops.zero(plane, plan.planeSize)
    for ch in 0..<g.channels {
        for img in 0..<images {
            let src = x + ((firstImage + img) * g.channels + ch) * hw
            for iy in 0..<rows { SIMDLoops.copy(plane + (iy + g.padH) * wp + g.padW, src + iy * g.width, cols) }
            cutTiles(plane, width: wp, side: plan.alpha, plan, into: d + ch * tiles + img * plan.tilesPerImage, stride: ct)
        }
    }
    plan.matrices.inputTransform.withUnsafeBufferPointer { t in
        sgemm(m: plan.positions, n: ct, k: plan.positions, a: t.baseAddress!, lda: plan.positions,
              b: d, ldb: ct, c: v, ldc: ct)
    }
}

/// ∂x += the patches' gradients ∂D = (Bᵀ ⊗ Bᵀ)ᵀ · ∂V, each added onto the pixels its tile
/// read (through the padded plane; what falls on the padding is dropped).
private func transformInputGradient(_ dv: UnsafePointer<Float>, firstImage: Int, tiles: Int, _ plan: WinogradPlan,
                                    patches dd: UnsafeMutablePointer<Float>, plane: UnsafeMutablePointer<Float>,
                                    addingInto dx: UnsafeMutablePointer<Float>) {
    let g = plan.geometry, hw = g.height * g.width, wp = plan.paddedWidth, ct = g.channels * tiles
    let images = tiles / plan.tilesPerImage, rows = plan.readRows, cols = plan.readColumns
    plan.matrices.inputTransform.withUnsafeBufferPointer { t in
        sgemm(transA: true, m: plan.positions, n: ct, k: plan.positions, a: t.baseAddress!, lda: plan.positions,
              b: dv, ldb: ct, c: dd, ldc: ct)
    }
    for ch in 0..<g.channels {
        for img in 0..<images {
            SIMDLoops.zero(plane, plan.planeSize)
            placeTiles(dd + ch * tiles + img * plan.tilesPerImage, stride: ct, side: plan.alpha, plan,
                       into: plane, width: wp, accumulate: true)
            let dst = dx + ((firstImage + img) * g.channels + ch) * hw
            for iy in 0..<rows { SIMDLoops.add(dst + iy * g.width, plane + (iy + g.padH) * wp + g.padW, cols) }
        }
    }
}

/// y[n, k] = the tiles (Aᵀ ⊗ Aᵀ) · M (m² × K·T) + bias[k]: the tiles are laid out on the
/// (tilesH·m) × (tilesW·m) `plane` and its OH × OW corner is copied out.
private func transformOutput(_ mm: UnsafePointer<Float>, firstImage: Int, tiles: Int, _ plan: WinogradPlan,
                             bias: [Float]?, tileBuffer yt: UnsafeMutablePointer<Float>,
                             plane: UnsafeMutablePointer<Float>, into y: UnsafeMutablePointer<Float>) {
    let g = plan.geometry, k = plan.outChannels, p = g.outPixels, wq = plan.tiledWidth, kt = k * tiles
    let images = tiles / plan.tilesPerImage
    plan.matrices.outputTransform.withUnsafeBufferPointer { t in
        sgemm(m: plan.m * plan.m, n: kt, k: plan.positions, a: t.baseAddress!, lda: plan.positions,
              b: mm, ldb: kt, c: yt, ldc: kt)
    }
    for kk in 0..<k {
        let b = bias?[kk] ?? 0
        for img in 0..<images {
            placeTiles(yt + kk * tiles + img * plan.tilesPerImage, stride: kt, side: plan.m, plan,
                       into: plane, width: wq, accumulate: false)
            let dst = y + ((firstImage + img) * k + kk) * p
            for oy in 0..<g.outH {
                let to = dst + oy * g.outW, from = plane + oy * wq
                for ox in 0..<g.outW { to[ox] = from[ox] + b }
            }
        }
    }
}

/// ∂M (α², K·T) = (Aᵀ ⊗ Aᵀ)ᵀ · ∂Y tiles, ∂Y being laid on the zero-padded tiled plane first
/// (the overhanging part of the last tiles is zero).
private func transformOutputGradient(_ dy: UnsafePointer<Float>, firstImage: Int, tiles: Int, _ plan: WinogradPlan,
                                     tileBuffer dyt: UnsafeMutablePointer<Float>, plane: UnsafeMutablePointer<Float>,
                                     into dm: UnsafeMutablePointer<Float>) {
    let g = plan.geometry, k = plan.outChannels, p = g.outPixels, wq = plan.tiledWidth, kt = k * tiles
    let images = tiles / plan.tilesPerImage
    SIMDLoops.zero(plane, plan.tiledHeight * wq)
    for kk in 0..<k {
        for img in 0..<images {
            let src = dy + ((firstImage + img) * k + kk) * p
            for oy in 0..<g.outH { SIMDLoops.copy(plane + oy * wq, src + oy * g.outW, g.outW) }
            cutTiles(plane, width: wq, side: plan.m, plan, into: dyt + kk * tiles + img * plan.tilesPerImage, stride: kt)
        }
    }
    plan.matrices.outputTransform.withUnsafeBufferPointer { t in
        sgemm(transA: true, m: plan.positions, n: kt, k: plan.m * plan.m, a: t.baseAddress!, lda: plan.positions,
              b: dyt, ldb: kt, c: dm, ldc: kt)
    }
}
