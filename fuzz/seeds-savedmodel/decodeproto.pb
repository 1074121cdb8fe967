>
"serve3
1
dDecodeProtoV2*
descriptor_source/etc/x