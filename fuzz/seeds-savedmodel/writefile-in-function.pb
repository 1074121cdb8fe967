ú
"serveê

xPlaceholder*
dtype0

wConst*
valueB

yMatMul
+
cStatefulPartitionedCall*
fR
save


drop
w	WriteFile