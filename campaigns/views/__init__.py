"""The marketer's pages, one module per kind of thing: campaigns, batches, posts, exports.

Views are thin: parse input with a form, call one service or selector, render the page, or
only the part htmx asked for (request.htmx picks "template.html#partial").
"""
