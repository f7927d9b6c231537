import HeedOps

extension Tensor {
    /// Whether ops record how they were computed (false inside `withoutGradients`).
    @TaskLocal static var isRecording = true

    /// Runs `body` without recording anything for backward: evaluation and inference.
    public static func withoutGradients<T>(_ body: () throws -> T) rethrows -> T {
        try $isRecording.withValue(false, operation: body)
    }

    /// The output of an op. Records `backward` (the op's gradient rule) when recording
    /// is on and some input requires a gradient; otherwise the result is a constant.
    static func result(
        op: String, shape: [Int], storage: any DeviceBuffer, inputs: [Tensor],
        backward: @escaping (Tensor) throws -> [Tensor?]
    ) -> Tensor {
        let backend = inputs[0].backend
        guard isRecording, inputs.contains(where: \.requiresGradient) else {
            return Tensor(shape: shape, storage: storage, backend: backend, requiresGradient: false, origin: nil)
        }
        return Tensor(
            shape: shape, storage: storage, backend: backend, requiresGradient: true,
            origin: Origin(op: op, inputs: inputs, backward: backward))
    }

    /// Back-propagates from this scalar: adds ∂self/∂p to `p.gradient` for every leaf p
    /// that requires a gradient. Gradients accumulate across calls until `zeroGradient()`.
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
        // Reverse topological order: every tensor after all tensors computed from it.
        var order: [Tensor] = []
        var visited = Set<ObjectIdentifier>()
        var stack: [(Tensor, Bool)] = [(self, false)]
        while let (tensor, expanded) = stack.popLast() {
            if expanded {
                order.append(tensor)
                continue
            }
            guard visited.insert(ObjectIdentifier(tensor)).inserted else { continue }
            stack.append((tensor, true))
            for input in tensor.origin?.inputs ?? [] where input.requiresGradient {
                stack.append((input, false))
            }
        }

        var pending: [ObjectIdentifier: Tensor] = [ObjectIdentifier(self): seed]
        for tensor in order.reversed() {
            guard let gradient = pending.removeValue(forKey: ObjectIdentifier(tensor)) else { continue }
            guard let origin = tensor.origin else {
                tensor.gradient = try tensor.gradient.map { try $0.adding(gradient) } ?? gradient
                try leafGradientIsFinal?(tensor)
                continue
            }
            let inputGradients = try Tensor.withoutGradients { try origin.backward(gradient) }
            for (input, inputGradient) in zip(origin.inputs, inputGradients) {
                guard input.requiresGradient, let inputGradient else { continue }
                guard inputGradient.shape.reduce(1, *) == input.count else {
                    throw HeedError.shapeMismatch(
                        op: "\(origin.op) backward",
                        "gradient of shape \(inputGradient.shape) for input of shape \(input.shape)")
                }
                let key = ObjectIdentifier(input)
                pending[key] = try pending[key].map { try $0.adding(inputGradient) } ?? inputGradient
            }
        }
    }

    /// The same values with no gradient: what flows from here on is a constant.
    public func detached() -> Tensor {
        Tensor(shape: shape, storage: storage, backend: backend, requiresGradient: false, origin: nil)
    }
}
