/**
 * Annotations on contract schemas. OpenAPI allows `x-` extension keys in a Schema Object, so the
 * schemas go into the query API's OpenAPI document as they are.
 */
/** The {@link RejectReason} of an error at or below this node; the outermost one on the path wins. */
export const X_REASON = 'x-reason';
/** What the value must be, for the error message: `must be a finite number`. */
export const X_EXPECT = 'x-expect';
/** This node is an id of that kind (`device id`); its errors say what is wrong with the id. */
export const X_ID = 'x-id';
