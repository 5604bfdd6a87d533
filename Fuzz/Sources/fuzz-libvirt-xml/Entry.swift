import FuzzTargets

@_cdecl("fuzz_libvirt_xml_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    FuzzTargets.main("libvirt-xml", argc, argv)
}
