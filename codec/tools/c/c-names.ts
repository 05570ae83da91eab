/**
 * C identifiers of the generated C codec: one place, so the generator and the generated docs
 * (which name the C identifier next to each field) agree.
 *
 * @module
 */

/** snake_case of a camelCase or dotted name: `control.helloAck` → `control_hello_ack`. */
export function snake(name: string): string {
  return name
    .replace(/\./g, '_')
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z])([A-Z][a-z])/g, '$1_$2')
    .toLowerCase();
}

/** UPPER_SNAKE of a name: `control.helloAck` → `CONTROL_HELLO_ACK`. */
export function upper(name: string): string {
  return snake(name).toUpperCase();
}

/** C type of a message body (`control.hello` → `kkcm_control_hello`) or a struct (`psrmEntry` → `kkcm_psrm_entry`). */
export function cTypeName(name: string): string {
  return `kkcm_${snake(name)}`;
}

/** C member of a field in its body or struct (`nodeName` → `node_name`). */
export function cMember(field: string): string {
  return snake(field);
}

/** The C expression naming a body field, as the docs show it: `kkcm_control_hello.node_name`. */
export function cFieldIdent(owner: string, field: string): string {
  return `${cTypeName(owner)}.${cMember(field)}`;
}
