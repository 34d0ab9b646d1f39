// A minimal XML reader for the MASS skeleton and muscle files (human.xml, muscle284.xml): elements
// with attributes, nested, read into a tree. Text content, comments, <?...?> and <!...> are
// skipped; the five predefined entities are decoded in attribute values. Enough for those two
// files' simple format, not a general XML parser (no namespaces, CDATA or DTDs).
#ifndef PWM_ENVS_SNU_XML_H
#define PWM_ENVS_SNU_XML_H

#include <stddef.h>

typedef struct snu_xml_el snu_xml_el;

struct snu_xml_el {
    char *name;
    int line;               // line of the start tag, for messages
    int nattr;
    char **keys, **values;  // nattr each
    int nchild;
    snu_xml_el **child;
};

// The root element of the file at path, or NULL with "PATH:LINE: what went wrong" in err.
snu_xml_el *snu_xml_read(const char *path, char *err, size_t errlen);
void snu_xml_free(snu_xml_el *e);
// The value of attribute key, or NULL.
const char *snu_xml_attr(const snu_xml_el *e, const char *key);
// The first child element called name, or NULL.
const snu_xml_el *snu_xml_child(const snu_xml_el *e, const char *name);

#endif
