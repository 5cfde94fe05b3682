// Page elements are built from data, never from HTML text: strings become text nodes, attributes
// are set one by one, and no event handler attribute can be set (listeners go through addEventListener).

export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (/^on/i.test(name)) throw new Error(`event handler attribute ${name} refused`);
    node.setAttribute(name, value);
  }
  node.append(...children);
  return node;
}
