4
"serve)
'
cPartitionedCall*
fR

ReadFile