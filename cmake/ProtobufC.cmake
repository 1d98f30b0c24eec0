# ttrpc_protobuf_c(OUT_VAR PROTO_ROOT file.proto...)
# Runs protoc-c at build time; OUT_VAR receives the generated .pb-c.c files and
# the directory ${CMAKE_CURRENT_BINARY_DIR}/pb holds the headers.
function(ttrpc_protobuf_c out_var proto_root)
  set(outs)
  set(gen_dir ${CMAKE_CURRENT_BINARY_DIR}/pb)
  file(MAKE_DIRECTORY ${gen_dir})
  foreach(proto ${ARGN})
    string(REGEX REPLACE "\\.proto$" "" base ${proto})
    set(c ${gen_dir}/${base}.pb-c.c)
    set(h ${gen_dir}/${base}.pb-c.h)
    add_custom_command(OUTPUT ${c} ${h}
      COMMAND ${PROTOC_C} -I${proto_root} --c_out=${gen_dir} ${proto_root}/${proto}
      DEPENDS ${proto_root}/${proto}
      COMMENT "protoc-c ${proto}" VERBATIM)
    list(APPEND outs ${c})
  endforeach()
  set(${out_var} ${outs} PARENT_SCOPE)
endfunction()
