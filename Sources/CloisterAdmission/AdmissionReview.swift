import CloisterCodec
import CloisterFormats

/// The parts of an `admission.k8s.io/v1` AdmissionReview request that a decision needs. Read
/// with the same JSON reader as `check` (positions, depth bound), never trusted beyond that.
public struct AdmissionRequest: Sendable {
    /// Echoed in the response: the API server matches answers to requests by it.
    public var uid: String
    /// CREATE, UPDATE, DELETE or CONNECT; nil when absent.
    public var operation: String?
    /// The namespace the object is admitted into (an object's own metadata may leave it out).
    public var namespace: String?
    /// The object to admit; nil for DELETE, which has only `oldObject`.
    public var object: DocNode?
    /// Labels of the namespace the object is admitted into, when the request carries them
    /// (`request.namespaceObject.metadata.labels`, as an admission proxy or a
    /// ValidatingAdmissionPolicy's params give them); empty otherwise.
    public var namespaceLabels: [String: String] = [:]

    /// The object's `kind` (Pod, Deployment, …) when it has one.
    public var objectKind: String? { object?["kind"]?.text }
}

/// Why a body is not an AdmissionReview this webhook answers: a 400 with this message.
public struct AdmissionBodyError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

public enum AdmissionReview {
    public static let apiVersion = "admission.k8s.io/v1"

    /// Reads a request body. Everything wrong with it is an `AdmissionBodyError` naming what
    /// and where (line and column for JSON errors); nothing in it can crash the reader.
    public static func parse<Bytes: Collection<UInt8>>(_ body: Bytes) throws(AdmissionBodyError) -> AdmissionRequest {
        guard let text = String(validating: body, as: UTF8.self) else {
            throw AdmissionBodyError("the body is not UTF-8 text; send an admission.k8s.io/v1 AdmissionReview as JSON")
        }
        let root: DocNode
        do {
            root = try JSONDocument.parse(text)
        } catch {
            let place = error.line.map { " at line \($0)\(error.column.map { ", column \($0)" } ?? "")" } ?? ""
            throw AdmissionBodyError("the body is not valid JSON\(place): \(error.message)")
        }
        guard root.entries != nil else {
            throw AdmissionBodyError("the body must be a JSON object (an AdmissionReview), not \(describe(root))")
        }
        guard root["kind"]?.text == "AdmissionReview" else {
            throw AdmissionBodyError("the body is not an AdmissionReview (kind is \(root["kind"].map(describe) ?? "missing"))")
        }
        guard root["apiVersion"]?.text == apiVersion else {
            throw AdmissionBodyError(
                "apiVersion is \(root["apiVersion"].map(describe) ?? "missing"); this webhook answers \(apiVersion) only "
                    + "(set admissionReviewVersions: [v1] in the webhook configuration)")
        }
        guard let request = root["request"], request.entries != nil else {
            throw AdmissionBodyError("the AdmissionReview has no request object")
        }
        guard let uidNode = request["uid"], case .scalar(let uid, plain: false) = uidNode.value, !uid.isEmpty else {
            throw AdmissionBodyError("request.uid must be a non-empty string: the response has to echo it")
        }
        let operation = try optionalString(request["operation"], field: "request.operation")
        let namespace = try optionalString(request["namespace"], field: "request.namespace")
        var object: DocNode?
        if let node = request["object"], !node.isNull {
            guard node.entries != nil else {
                throw AdmissionBodyError("request.object must be a JSON object, not \(describe(node))")
            }
            object = node
        }
        if object == nil, operation != "DELETE", operation != "CONNECT" {
            throw AdmissionBodyError("request.object is missing; a \(operation ?? "request") without an object cannot be judged")
        }
        var parsed = AdmissionRequest(uid: uid, operation: operation, namespace: namespace, object: object)
        for entry in request["namespaceObject"]?["metadata"]?["labels"]?.entries ?? [] {
            if let value = entry.value.text { parsed.namespaceLabels[entry.key] = value }
        }
        return parsed
    }

    static func optionalString(_ node: DocNode?, field: String) throws(AdmissionBodyError) -> String? {
        guard let node, !node.isNull else { return nil }
        guard case .scalar(let text, plain: false) = node.value else {
            throw AdmissionBodyError("\(field) must be a string, not \(describe(node))")
        }
        return text
    }

    /// A short, bounded description of a node for an error message.
    static func describe(_ node: DocNode) -> String {
        switch node.value {
        case .mapping: return "an object"
        case .sequence: return "an array"
        case .scalar(let text, let plain):
            if node.isNull { return "null" }
            let shown = text.count > 64 ? String(text.prefix(64)) + "…" : text
            return plain ? shown : "\"\(shown)\""
        }
    }
}
