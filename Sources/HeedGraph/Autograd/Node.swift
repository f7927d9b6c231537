import HeedOps

/// The record of one op for backward (PyTorch's `grad_fn`): where each input's gradient
/// goes, the input shapes to check gradients against, the rule, and the tensors the rule
/// saved. It holds no input tensor other than leaves (parameters, which live anyway): a
/// forward intermediate that no rule saved is freed as soon as the forward pass drops it.
final class Node {
    /// Where the gradient of an input goes: the node that computed it, or the leaf
    /// (a parameter) that accumulates it.
    enum Edge {
        case node(Node)
        case leaf(Tensor)
    }

    /// Maps ∂loss/∂output and the saved buffers to ∂loss/∂input for each input (nil: none).
    typealias Rule = (_ outputGradient: Tensor, _ saved: SavedTensors) throws -> [Tensor?]

    let op: String
    /// One per input, nil for an input that does not require a gradient; emptied once the
    /// rule has run, so that backward leaves nothing of the graph behind.
    private(set) var edges: [Edge?]
    let inputShapes: [[Int]]
    private(set) var saved: SavedTensors?
    private var rule: Rule?

    init(op: String, inputs: [Tensor], saved: SavedTensors, rule: @escaping Rule) {
        self.op = op
        edges = inputs.map { input in
            guard input.requiresGradient else { return nil }
            return input.node.map(Edge.node) ?? .leaf(input)
        }
        inputShapes = inputs.map(\.shape)
        self.saved = saved
        self.rule = rule
    }

    /// Bytes this node keeps for backward (0 once its rule has run).
    var savedByteCount: Int { saved?.byteCount ?? 0 }

    /// Runs the rule once and frees what it saved; a second call is an error, as a second
    /// `backward` through a graph is in PyTorch without `retain_graph`.
    func apply(_ outputGradient: Tensor) throws -> [Tensor?] {
        guard let rule, let saved else {
            throw HeedError.invalidArgument(
                op: "\(op) backward", "backward through the graph a second time: its saved tensors were freed")
        }
        release()
        return try rule(outputGradient, saved)
    }

    /// Drops the rule and the saved tensors (the rule has run, or no gradient reached it).
    func release() {
        rule = nil
        saved = nil
    }

    /// The edges, handed over once backward has passed this node.
    func takeEdges() -> [Edge?] {
        defer { edges = [] }
        return edges
    }
}
