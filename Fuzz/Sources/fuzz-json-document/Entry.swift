import FuzzTargets

@_cdecl("fuzz_json_document_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    FuzzTargets.main("json-document", argc, argv)
}
