import sqlite3

def handle(payload, context):
    connection = sqlite3.connect("catalog.db")
    try:
        rows = connection.execute("SELECT name, price FROM products WHERE category = ?", (payload["category"],)).fetchall()
    finally:
        connection.close()
    return [{"name": n, "price": p} for n, p in rows]
