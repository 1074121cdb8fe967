&
"serve

pPyFunc*
tokent