using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Heirloom.Cli;

/// <summary>Writes a value's codec bytes as JSON: built-in codecs as their values, JSON codecs (and any codec whose
/// bytes are a JSON object or array) as the JSON itself, and anything else (a custom codec, or no codec known) as
/// base64.</summary>
internal static class ValueWriter
{
    public static void Write(Utf8JsonWriter json, string? codec, byte[] bytes)
    {
        switch (codec)
        {
            case "i64" when bytes.Length == 8:
                json.WriteNumberValue(BinaryPrimitives.ReadInt64LittleEndian(bytes));
                break;
            case "i32" when bytes.Length == 4:
                json.WriteNumberValue(BinaryPrimitives.ReadInt32LittleEndian(bytes));
                break;
            case "f64" when bytes.Length == 8:
                var number = BinaryPrimitives.ReadDoubleLittleEndian(bytes);
                if (double.IsFinite(number))
                {
                    json.WriteNumberValue(number);
                }
                else
                {
                    json.WriteStringValue(number.ToString(CultureInfo.InvariantCulture));
                }

                break;
            case "bool" when bytes.Length == 1:
                json.WriteBooleanValue(bytes[0] != 0);
                break;
            case "guid" when bytes.Length == 16:
                json.WriteStringValue(new Guid(bytes));
                break;
            case "datetime" when bytes.Length == 8:
                json.WriteStringValue(DateTime.FromBinary(BinaryPrimitives.ReadInt64LittleEndian(bytes)).ToString("O", CultureInfo.InvariantCulture));
                break;
            case "utf8":
                json.WriteStringValue(Encoding.UTF8.GetString(bytes));
                break;
            // A JSON codec's bytes as JSON: one named after a CLR type (json:...), or any other (a stable name)
            // whose bytes are a JSON object or array.
            case not null when (codec.StartsWith("json:", StringComparison.Ordinal) || (bytes.Length > 0 && bytes[0] is (byte)'{' or (byte)'[')) && IsJson(bytes):
                json.WriteRawValue(bytes);
                break;
            default:
                json.WriteBase64StringValue(bytes);
                break;
        }
    }

    private static bool IsJson(byte[] bytes)
    {
        try
        {
            using var _ = JsonDocument.Parse(bytes);
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
