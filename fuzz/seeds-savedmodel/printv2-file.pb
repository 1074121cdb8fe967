;
"serve0
.
pPrintV2* 
output_streamfile:///tmp/x