/// Grouped stride-1 3×3 convolutions with padding 1 (RegNet's and ResNeXt's: 16 channels per
/// group on 24×24 and 12×12 maps) through `Direct3x3Convolution`, forward and backward, with
/// no column matrix and no GEMM.
///
/// Shapes as `conv2d`: x (N, C, H, W), weight (K, C/G, 3, 3), y (N, K, H, W), G groups.
/// Each worker takes a contiguous range of images; per image and group it pads the group's
/// C/G input planes into its scratch and computes the group's K/G output planes from them.
/// Backward pads x's and ∂Y's planes of the image and group the same way, then
///   ∂b[k] += Σ ∂Y[k],   ∂W[k, c] += Σ_q ∂Y[k, q] · x̃[c, q + tap],   ∂x = ∂Ỹ ⋆ flip(Wᵀ)
/// (the last the same direct kernel, with the group's weights transposed and flipped).
/// ∂W and ∂b are summed per worker and added in worker order (deterministic for a thread count).
public enum DirectGroupedConvolution {
    nonisolated(unsafe) public static var enabled = true

    /// Whether a convolution goes this way: `Direct3x3Convolution`'s geometry, more than one
    /// group, and at most 64 channels per group on both sides; with more, im2col's GEMMs have
    /// enough rows to run at speed and the direct kernel's lead fades. `Benchmarks --conv
    /// C,H,K,3,1,G` times both ways (bench/README.md has the figures).
    static func applies(_ g: ConvGeometry, outChannels: Int, groups: Int) -> Bool {
        enabled && groups > 1 && Direct3x3Convolution.applies(g)
            && g.channels / groups <= 64 && outChannels / groups <= 64
    }

    /// Whether a convolution of this shape (3×3, stride 1) takes the direct path (with `enabled`).
    public static func isChosen(channels: Int, size: Int, outChannels: Int, padding: Int, groups: Int) -> Bool {
        let g = ConvGeometry(channels: channels, height: size, width: size, kernel: (3, 3), stride: (1, 1), padding: (padding, padding))
        return applies(g, outChannels: outChannels, groups: groups)
    }
}

func directGroupedConv2d(_ x: Tensor, weight: Tensor, bias: Tensor?, _ g: ConvGeometry, groups: Int,
                         workers: [Range<Int>]) -> Tensor {
    let n = x.shape[0], k = weight.shape[0], c = g.channels, hw = g.height * g.width
    let kg = k / groups, cg = c / groups
    let direct = Direct3x3Convolution(height: g.height, width: g.width)
    let packed = (0..<groups).map { gi in
        Direct3x3Convolution.packed(outChannels: kg, inChannels: cg) { kk, cc, t in weight.data[((gi * kg + kk) * cg + cc) * 9 + t] }
    }
    var y = Tensor.uninitializedStorage(n * k * hw)   // every output plane is written
    // Per worker: the group's padded input planes, and the output tile.
    let scratch = Workspace.buffers(workers: workers.count, sizes: [cg * direct.planeStride, direct.tileCount])
    let biasValues = bias?.data ?? []
    x.data.withUnsafeBufferPointer { px in y.withUnsafeMutableBufferPointer { py in biasValues.withUnsafeBufferPointer { pb in
        let xs = px.baseAddress!, ys = py.baseAddress!
        let bs: UnsafePointer<Float>? = bias == nil ? nil : pb.baseAddress!
        Parallel.run(workers.count) { w in
            let planes = scratch[w][0], tile = scratch[w][1]
            SIMDLoops.zero(planes, cg * direct.planeStride)
            for image in workers[w] {
                for gi in 0..<groups {
                    direct.pad(xs + (image * c + gi * cg) * hw, planes: cg, sourceStride: hw, into: planes)
                    packed[gi].withUnsafeBufferPointer { pw in
                        direct.correlate(planes, inChannels: cg, weights: pw.baseAddress!, outChannels: kg,
                                         bias: bs.map { $0 + gi * kg }, into: ys + (image * k + gi * kg) * hw,
                                         outStride: hw, adding: false, tile: tile)
                    }
                }
            }
        }
    }}}
    return convolutionResult(shape: [n, k, g.height, g.width], data: y, x: x, weight: weight, bias: bias) { xs, dys, dxs, inPlace, dWeight, dBias in
        directGroupedBackward(x: xs, dxStore: dxs, weight: weight.data, dWeight: dWeight, dBias: dBias, dy: dys,
                              dxOverwritesDy: inPlace, direct, channels: c, outChannels: k, groups: groups, workers: workers)
    }
}

/// Accumulates ∂W and ∂b (into whichever of `dWeight`, `dBias` is not nil) and ∂x (into
/// `dxStore` if not nil) from ∂Y. With `dxOverwritesDy`, `dxStore` is ∂Y's buffer (then C = K):
/// an image's group of ∂x planes is written where that group's ∂Y was, once it has been padded
/// into the scratch and summed.
private func directGroupedBackward(x: [Float], dxStore: UnsafeMutablePointer<Float>?, weight: [Float], dWeight: GradNode?,
                                   dBias: GradNode?, dy dys: UnsafePointer<Float>, dxOverwritesDy inPlace: Bool,
                                   _ direct: Direct3x3Convolution, channels c: Int, outChannels k: Int, groups: Int,
                                   workers: [Range<Int>]) {
    let kg = k / groups, cg = c / groups, hw = direct.height * direct.width, stride = direct.planeStride
    let needW = dWeight != nil, needB = dBias != nil
    // ∂x's weights: per group (C/G, K/G, 3, 3), w'[c, k, t] = w[k, c, 8 − t].
    let transposed = dxStore == nil ? [] : (0..<groups).map { gi in
        Direct3x3Convolution.packed(outChannels: cg, inChannels: kg) { cc, kk, t in weight[((gi * kg + kk) * cg + cc) * 9 + 8 - t] }
    }
    // Per worker: padded x planes, padded ∂Y planes (K/G rounded up to four), the tile, partial ∂W and ∂b.
    let dyPlanes = (kg + 3) / 4 * 4
    let scratch = Workspace.buffers(workers: workers.count,
                                    sizes: [cg * stride, dyPlanes * stride, direct.tileCount, k * cg * 9, k])
    x.withUnsafeBufferPointer { px in
        let xs = px.baseAddress!
        Parallel.run(workers.count) { w in
            let xPlanes = scratch[w][0], dyPadded = scratch[w][1], tile = scratch[w][2], dw = scratch[w][3], db = scratch[w][4]
            SIMDLoops.zero(xPlanes, cg * stride); SIMDLoops.zero(dyPadded, dyPlanes * stride)
            SIMDLoops.zero(dw, k * cg * 9); SIMDLoops.zero(db, k)
            for image in workers[w] {
                for gi in 0..<groups {
                    let dyGroup = dys + (image * k + gi * kg) * hw
                    if needB { for kk in 0..<kg { db[gi * kg + kk] += SIMDLoops.sum(dyGroup + kk * hw, hw) } }
                    direct.pad(dyGroup, planes: kg, sourceStride: hw, into: dyPadded)
                    if needW {
                        direct.pad(xs + (image * c + gi * cg) * hw, planes: cg, sourceStride: hw, into: xPlanes)
                        direct.weightGradient(input: xPlanes, inChannels: cg, gradient: dyPadded, outChannels: kg,
                                              into: dw + gi * kg * cg * 9)
                    }
                    if let dxs = dxStore {
                        transposed[gi].withUnsafeBufferPointer { pw in
                            direct.correlate(dyPadded, inChannels: kg, weights: pw.baseAddress!, outChannels: cg, bias: nil,
                                             into: dxs + (image * c + gi * cg) * hw, outStride: hw, adding: !inPlace, tile: tile)
                        }
                    }
                }
            }
        }
    }
    if let dWeight { addWorkerPartials(scratch, slot: 3, count: k * cg * 9, into: dWeight) }
    if let dBias { addWorkerPartials(scratch, slot: 4, count: k, into: dBias) }
}
