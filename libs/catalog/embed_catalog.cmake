file(READ ${INPUT} CONTENT)
file(WRITE ${OUTPUT}
  "namespace warden::catalog {\nextern const char kDefaultCatalogJson[];\n"
  "const char kDefaultCatalogJson[] = R\"json(${CONTENT})json\";\n}\n")
