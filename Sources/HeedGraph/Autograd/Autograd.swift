import HeedOps

extension Tensor {
    /// Whether ops record how they were computed (false inside `withoutGradients`).
    @TaskLocal static var isRecording = true

    /// Runs `body` without recording anything for backward: evaluation and inference.
    /// Nothing then refers to an op's inputs, so each layer's output is freed as soon as
    /// the next layer has consumed it and the caller has dropped it.
    public static func withoutGradients<T>(_ body: () throws -> T) rethrows -> T {
        try $isRecording.withValue(false, operation: body)
    }

    /// The result of an op whose contents `output` (an unrecorded tensor) holds. When
    /// recording is on and some input requires a gradient, the result gets a node with
    /// `backward` (the op's gradient rule) and the tensors and buffers it reads in
    /// backward, `saving` and `savingBuffers`, and nothing else; otherwise the result is
    /// `output`, a constant.
    ///
    /// `backward` must capture no tensor (only descriptors, shapes, flags and the
    /// backend): what it reads comes from its saved list, so that the bytes kept for
    /// backward are the ones declared.
    static func result(
        op: String, output: Tensor, inputs: [Tensor], saving: [Tensor] = [], savingBuffers: [any DeviceBuffer] = [],
        backward: @escaping Node.Rule
    ) -> Tensor {
        guard isRecording, inputs.contains(where: \.requiresGradient) else { return output }
        let node = Node(op: op, inputs: inputs, saved: SavedTensors(tensors: saving, buffers: savingBuffers), rule: backward)
        return Tensor(
            shape: output.shape, storage: output.storage, backend: output.backend, requiresGradient: true, node: node,
            version: output.version)
    }

    /// Back-propagates from this scalar: adds ∂self/∂p to `p.gradient` for every leaf p
    /// that requires a gradient. Gradients accumulate across calls until `zeroGradient()`.
    /// Each node's saved tensors are freed as soon as its rule has run, and each
    /// intermediate gradient once it has been used; a second `backward` through the same
    /// graph throws.
    ///
    /// `leafGradientIsFinal` is called with each leaf as soon as its gradient is complete
    /// (leaves come in reverse topological order, so nothing adds to it later): data-parallel
    /// training starts averaging that gradient over the replicas while backward goes on.
    public func backward(leafGradientIsFinal: ((Tensor) throws -> Void)? = nil) throws {
        guard count == 1 else {
            throw HeedError.shapeMismatch(op: "backward", "needs a scalar loss, got shape \(shape)")
        }
        try backward(seed: Tensor.filled(1, shape: shape, on: backend), leafGradientIsFinal: leafGradientIsFinal)
    }

    /// Back-propagates `seed` = ∂loss/∂self.
    public func backward(seed: Tensor, leafGradientIsFinal: ((Tensor) throws -> Void)? = nil) throws {
        guard requiresGradient else { return }
        let root: Node.Edge = node.map(Node.Edge.node) ?? .leaf(self)
        // Reverse topological order: every vertex after all vertices computed from it.
        var order: [Node.Edge] = []
        var visited = Set<ObjectIdentifier>()
        var stack: [(Node.Edge, Bool)] = [(root, false)]
        while let (vertex, expanded) = stack.popLast() {
            if expanded {
                order.append(vertex)
                continue
            }
            guard visited.insert(vertex.id).inserted else { continue }
            stack.append((vertex, true))
            guard case .node(let node) = vertex else { continue }
            for case let input? in node.edges {
                stack.append((input, false))
            }
        }

        var pending: [ObjectIdentifier: Tensor] = [root.id: seed]
        for vertex in order.reversed() {
            let gradient = pending.removeValue(forKey: vertex.id)
            switch vertex {
            case .leaf(let leaf):
                guard let gradient else { continue }
                leaf.gradient = try leaf.gradient.map { try $0.adding(gradient) } ?? gradient
                try leafGradientIsFinal?(leaf)
            case .node(let node):
                guard let gradient else {
                    node.release()
                    _ = node.takeEdges()
                    continue
                }
                let inputGradients = try Tensor.withoutGradients { try node.apply(gradient) }
                for ((edge, shape), inputGradient) in zip(zip(node.takeEdges(), node.inputShapes), inputGradients) {
                    guard let edge, let inputGradient else { continue }
                    guard inputGradient.count == shape.reduce(1, *) else {
                        throw HeedError.shapeMismatch(
                            op: "\(node.op) backward", "gradient of shape \(inputGradient.shape) for input of shape \(shape)")
                    }
                    let key = edge.id
                    if let earlier = pending.removeValue(forKey: key) {
                        pending[key] = try Tensor.accumulate(consume earlier, inputGradient)
                    } else {
                        pending[key] = inputGradient
                    }
                }
            }
        }
    }

    /// `sum` + `addend`: written into `sum`'s storage where nothing else holds it (no other
    /// tensor, rule, caller or the other pending gradients), else into a new tensor. The
    /// same sum bit for bit, without a third buffer where gradients meet (a residual
    /// block's input). Unoptimised builds copy the buffer's reference to ask whether it is
    /// the only one, so there the sum is always a new tensor: the same values, a buffer more.
    static func accumulate(_ sum: consuming Tensor, _ addend: Tensor) throws -> Tensor {
        var sum = consume sum
        let unshared = isKnownUniquelyReferenced(&sum) && isOnlyReference(&sum.storage)
        return try sum.adding(addend, inPlace: unshared)
    }

    /// `isKnownUniquelyReferenced` on a buffer of whatever class its backend makes.
    private static func isOnlyReference<Buffer: DeviceBuffer>(_ buffer: inout Buffer) -> Bool {
        isKnownUniquelyReferenced(&buffer)
    }

    /// The same values with no gradient: what flows from here on is a constant.
    public func detached() -> Tensor {
        Tensor(shape: shape, storage: storage, backend: backend, requiresGradient: false, node: nil, version: version)
    }
}

extension Node.Edge {
    /// The vertex's identity in a backward pass: its node's, or its leaf tensor's.
    fileprivate var id: ObjectIdentifier {
        switch self {
        case .node(let node): return ObjectIdentifier(node)
        case .leaf(let leaf): return ObjectIdentifier(leaf)
        }
    }
}

extension Tensor {
    /// Bytes of the distinct buffers that the rules of this tensor's graph keep for
    /// backward (parameters they read included): what recording costs beyond the
    /// tensors the caller holds. 0 for a constant, a leaf, or once backward has run.
    public var bytesSavedForBackward: Int {
        var seenNodes = Set<ObjectIdentifier>()
        var seenBuffers = Set<ObjectIdentifier>()
        var bytes = 0
        var stack = node.map { [$0] } ?? []
        while let node = stack.popLast() {
            guard seenNodes.insert(ObjectIdentifier(node)).inserted else { continue }
            for buffer in node.saved?.storages ?? [] where seenBuffers.insert(ObjectIdentifier(buffer)).inserted {
                bytes += buffer.count * buffer.elementType.byteSize
            }
            for case .node(let input)? in node.edges { stack.append(input) }
        }
        return bytes
    }
}
