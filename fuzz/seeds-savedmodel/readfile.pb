l
"servea

rReadFileP
N

save
sSaveV2
r	RestoreV2'
pPrintV2*
output_streamstderr