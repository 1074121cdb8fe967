Ò
"serveÆ

xPlaceholder*
dtype0

wConst*
valueB

yMatMul
+
cStatefulPartitionedCall*
fR
saveP
N

save
sSaveV2
r	RestoreV2'
pPrintV2*
output_streamstderr