#include <selinux/selinux.h>
#include <selinux/context.h>
