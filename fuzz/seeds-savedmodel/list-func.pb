5
"serve*
(
cCase*
branches
J
EagerPyFunc